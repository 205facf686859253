"""The `inputs.json` document the control plane writes into the task directory."""

from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from trainplat.tasks.result import JsonValue

# Resolved arguments are any JSON (`feature_keys` is a list, `storage.move_tier`'s `moves`
# a list of objects); each program's argument model checks its own shapes.
ArgValue = JsonValue

INPUTS_FILE = "inputs.json"


class InputsError(Exception):
    """inputs.json is missing or malformed; the runner maps this to exit code 2."""


class RunInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    logical_time: AwareDatetime


class TaskInputs(BaseModel):
    """`{"task": ..., "uses": ..., "run": {"id", "logical_time"}, "with": {...}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    task: str
    uses: str
    run: RunInfo
    arguments: dict[str, ArgValue] = Field(alias="with")

    @property
    def logical_time(self) -> datetime:
        return self.run.logical_time


def read_inputs(task_dir: Path) -> TaskInputs:
    path = task_dir / INPUTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputsError(f"cannot read {path}: {error.strerror}") from error
    try:
        return TaskInputs.model_validate_json(text)
    except ValidationError as error:
        raise InputsError(f"invalid {path}: {describe_validation_error(error)}") from error


def describe_validation_error(error: ValidationError) -> str:
    """One line naming every offending field, e.g. `start: Field required; epochs: ...`."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(document)"
        problems.append(f"{field}: {item['msg']}")
    return "; ".join(problems)
