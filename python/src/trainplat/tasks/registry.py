"""The explicit list of built-in task programs, by the name a pipeline's `uses:` gives.

Programs are imported on first lookup: a task process pays only for its own imports
(`doris.extract` never loads torch, which costs ~2 s per process start)."""

import importlib
from collections.abc import Iterator, Mapping

from trainplat.tasks.program import TaskProgram

# name -> "module:attribute". The Swift control plane's TaskPrograms.builtIn lists the same
# names; tests/unit/test_registry_matches_control_plane.py keeps the two in step.
_PROGRAM_LOCATIONS: dict[str, str] = {
    "doris.extract": "trainplat.doris.extract:EXTRACT_PROGRAM",
    "doris.test_connection": "trainplat.doris.connection_check:TEST_CONNECTION_PROGRAM",
    "datasets.training_set": "trainplat.datasets.training_set:TRAINING_SET_PROGRAM",
    "learning.train": "trainplat.learning.train:TRAIN_PROGRAM",
    "learning.evaluate": "trainplat.learning.evaluate:EVALUATE_PROGRAM",
    "feast.training_set": "trainplat.feast.training_set:FEAST_TRAINING_SET_PROGRAM",
    "feast.materialize": "trainplat.feast.materialize:MATERIALIZE_PROGRAM",
    "learning.incremental_update": (
        "trainplat.learning.incremental_update:INCREMENTAL_UPDATE_PROGRAM"
    ),
    "learning.evaluate_windows": "trainplat.learning.evaluate_windows:EVALUATE_WINDOWS_PROGRAM",
    "storage.move_tier": "trainplat.storage.tiering:MOVE_TIER_PROGRAM",
    "models.promote": "trainplat.learning.promote:PROMOTE_PROGRAM",
}


class LazyRegistry(Mapping[str, TaskProgram]):
    """A read-only mapping that imports each program's module when it is first looked up."""

    def __init__(self, locations: Mapping[str, str]) -> None:
        self._locations = dict(locations)
        self._loaded: dict[str, TaskProgram] = {}

    def __getitem__(self, name: str) -> TaskProgram:
        if name not in self._loaded:
            module_name, attribute = self._locations[name].split(":")
            program = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(program, TaskProgram) or program.name != name:
                raise TypeError(f"{self._locations[name]} is not the task program {name!r}")
            self._loaded[name] = program
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._locations)

    def __len__(self) -> int:
        return len(self._locations)


REGISTRY: Mapping[str, TaskProgram] = LazyRegistry(_PROGRAM_LOCATIONS)
