"""Task program `models.promote`: ask the control plane to point an alias (`production` by
default) at a model through the model's promotion gate.

The gate lives in the control plane, so this task only names the model by its artifact
hash; the control plane moves the alias, or keeps it and records why, and puts the outcome
under the task's `outputs.promotion` (`moved`, `version`, `previous_version`, `reasons`).
A refusal is not a failure: the run succeeds and the old version keeps serving."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.version import file_sha256
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import ModelPromotion, TaskResult

ALIAS_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"


class PromoteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: FilePath
    alias: str = Field("production", pattern=ALIAS_PATTERN)


def promote(context: TaskContext, *, model: Path, alias: str = "production") -> TaskResult:
    artifact_hash = file_sha256(model)
    context.report_progress(1.0, f"asking to point {alias} at model {artifact_hash[:12]}")
    return TaskResult(
        outputs={"artifact_hash": artifact_hash, "alias": alias},
        model_promotion=ModelPromotion(artifact_hash=artifact_hash, alias=alias),
    )


PROMOTE_PROGRAM = TaskProgram(name="models.promote", arguments=PromoteArgs, function=promote)
