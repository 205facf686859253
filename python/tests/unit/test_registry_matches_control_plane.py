"""The control plane validates `uses:` against its own list; both lists must agree."""

import re
from pathlib import Path

from trainplat.tasks.registry import REGISTRY

SWIFT_LIST = Path(__file__).parents[3] / "Sources/TrainplatCore/Pipelines/TaskPrograms.swift"


def test_registry_names_equal_control_plane_builtins() -> None:
    # setup
    swift_names = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', SWIFT_LIST.read_text()))
    # check
    assert swift_names == set(REGISTRY)


def test_registry_loads_every_program_under_its_name() -> None:
    for name in REGISTRY:
        assert REGISTRY[name].name == name
