"""Task program `learning.train`: fit a TransformerTimeSeriesModel with the configured
outputs (`outputs.py`) on a training set and write `model.pt` and `manifest.json` for the
model registry."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, FilePath, field_validator

from trainplat.datasets.training_set_file import read_metadata, read_training_set
from trainplat.datasets.version import content_hash, file_sha256
from trainplat.learning.checkpoint import save_checkpoint
from trainplat.learning.device import AUTO, DeviceField, resolve_device
from trainplat.learning.incremental import Hyperparameters, train_from_scratch
from trainplat.learning.outputs import (
    DEFAULT_OUTPUTS,
    Output,
    OutputField,
    check_outputs,
    outputs_to_json,
)
from trainplat.learning.scoring import training_metrics
from trainplat.tasks.atomic import write_json_atomic
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, ModelVersion, TaskResult

MODEL_FILE = "model.pt"
MANIFEST_FILE = "manifest.json"
HEADS = 4
LAYERS = 2
DROPOUT = 0.1


class TrainArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    training_set: FilePath
    epochs: int = Field(3, ge=1, le=1000)
    seed: int = 0
    d_model: int = Field(32, ge=HEADS, le=1024, multiple_of=HEADS)
    batch_size: int = Field(256, ge=1)
    learning_rate: float = Field(3e-3, gt=0.0, le=1.0)
    outputs: tuple[OutputField, ...] = DEFAULT_OUTPUTS
    device: DeviceField = AUTO

    @field_validator("outputs")
    @classmethod
    def _valid_outputs(cls, value: tuple[Output, ...]) -> tuple[Output, ...]:
        return check_outputs(value)


def train(
    context: TaskContext,
    *,
    training_set: Path,
    epochs: int = 3,
    seed: int = 0,
    d_model: int = 32,
    batch_size: int = 256,
    learning_rate: float = 3e-3,
    outputs: tuple[Output, ...] = DEFAULT_OUTPUTS,
    device: str = AUTO,
) -> TaskResult:
    on = resolve_device(device)
    data = read_training_set(training_set)
    architecture: dict[str, Any] = {
        "d_model": d_model,
        "heads": HEADS,
        "layers": LAYERS,
        "dropout": DROPOUT,
    }

    def on_epoch(epoch: int, epochs: int, loss: float, _terms: dict[str, float]) -> None:
        context.report_progress(epoch / epochs, f"epoch {epoch}/{epochs} loss {loss:.4f}")

    trained = train_from_scratch(
        [data],
        architecture=architecture,
        hyper=Hyperparameters(epochs, seed, batch_size, learning_rate),
        outputs=outputs,
        on_epoch=on_epoch,
        device=on,
    )
    train_loss = trained.report.loss
    metrics = {
        "train_loss": train_loss,
        **training_metrics(trained.model, trained.encoder, data),
    }

    model_path = (context.task_dir / MODEL_FILE).resolve()
    save_checkpoint(model_path, trained.model, trained.encoder, architecture)
    artifact_hash = file_sha256(model_path)
    schema, set_config = read_metadata(training_set)
    training_set_version = content_hash(training_set, set_config)
    config: dict[str, JsonValue] = {
        **architecture,
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "history": int(data.valid.shape[1]),
        "outputs": outputs_to_json(trained.encoder.outputs),
        "device": str(on),  # what it trained on (the weights are saved for the CPU)
    }
    write_json_atomic(
        context.task_dir / MANIFEST_FILE,
        {
            "artifact": MODEL_FILE,
            "artifact_hash": artifact_hash,
            "config": config,
            "feature_schema": dict(schema),
            "normalisation": trained.encoder.to_json()["numeric"],
            "metrics": metrics,
            "training_set_version": training_set_version,
        },
    )
    return TaskResult(
        outputs={"model": str(model_path), "train_loss": train_loss},
        metrics=metrics,
        model_version=ModelVersion(
            artifact_uri=model_path.as_uri(),
            artifact_hash=artifact_hash,
            metrics=metrics,
            training_set_version=training_set_version,
            config=config,
        ),
    )


TRAIN_PROGRAM = TaskProgram(name="learning.train", arguments=TrainArgs, function=train)
