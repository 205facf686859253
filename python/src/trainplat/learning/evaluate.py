"""Task program `learning.evaluate`: score a trained model on another (typically later)
training set, reusing the model's vocabularies and normalisation statistics. Metrics per
output (`scoring.score`): `auc`, `accuracy`, `log_loss` for the classification,
`<name>_mae`, `<name>_rmse`, `<name>_rows` for regression and forecast outputs; `rows`."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.training_set_file import read_training_set
from trainplat.datasets.version import file_sha256
from trainplat.learning.checkpoint import load_checkpoint
from trainplat.learning.device import AUTO, DeviceField, resolve_device
from trainplat.learning.scoring import score
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, ModelEvaluation, TaskResult


class EvaluateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: FilePath
    training_set: FilePath
    batch_size: int = Field(1024, ge=1)
    device: DeviceField = AUTO


def evaluate(
    context: TaskContext,
    *,
    model: Path,
    training_set: Path,
    batch_size: int = 1024,
    device: str = AUTO,
) -> TaskResult:
    on = resolve_device(device)
    network, encoder = load_checkpoint(model)
    network.to(on)
    data = read_training_set(training_set)
    context.report_progress(0.1, f"scoring {data.rows} rows")
    metrics = score(network, encoder, data, batch_size)
    summary = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.endswith(("auc", "mae")))
    context.report_progress(1.0, f"{summary or 'scored'} on {data.rows} rows")
    outputs: dict[str, JsonValue] = {**metrics, "device": str(on)}
    # Names the model by its artifact hash so the control plane can attach these metrics
    # to the model version that artifact was registered as.
    evaluation = ModelEvaluation(artifact_hash=file_sha256(model), metrics=metrics)
    return TaskResult(outputs=outputs, metrics=metrics, model_evaluation=evaluation)


EVALUATE_PROGRAM = TaskProgram(name="learning.evaluate", arguments=EvaluateArgs, function=evaluate)
