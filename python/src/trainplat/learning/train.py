"""Task program `learning.train`: fit a TransformerTimeSeriesModel on a training set and
write `model.pt` and `manifest.json` for the model registry."""

from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.training_set_file import read_metadata, read_training_set
from trainplat.datasets.version import content_hash, file_sha256
from trainplat.learning.checkpoint import build_model, save_checkpoint
from trainplat.learning.encoding import EncodedBatch, FeatureEncoder
from trainplat.learning.metrics import roc_auc
from trainplat.learning.model import TransformerTimeSeriesModel, predict_probabilities
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


def train(
    context: TaskContext,
    *,
    training_set: Path,
    epochs: int = 3,
    seed: int = 0,
    d_model: int = 32,
    batch_size: int = 256,
    learning_rate: float = 3e-3,
) -> TaskResult:
    torch.manual_seed(seed)
    data = read_training_set(training_set)
    encoder = FeatureEncoder.fit(data)
    batch = encoder.encode(data)
    architecture: dict[str, Any] = {
        "d_model": d_model,
        "heads": HEADS,
        "layers": LAYERS,
        "dropout": DROPOUT,
    }
    model = build_model(encoder, architecture)
    train_loss = _fit(context, model, batch, epochs, seed, batch_size, learning_rate)

    probabilities = predict_probabilities(model, batch, batch_size).double().numpy()
    metrics = {"train_loss": train_loss, "train_rows": float(data.rows)}
    if 0 < data.label.sum() < data.rows:
        metrics["train_auc"] = roc_auc(data.label, probabilities)

    model_path = (context.task_dir / MODEL_FILE).resolve()
    save_checkpoint(model_path, model, encoder, architecture)
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
    }
    write_json_atomic(
        context.task_dir / MANIFEST_FILE,
        {
            "artifact": MODEL_FILE,
            "artifact_hash": artifact_hash,
            "config": config,
            "feature_schema": dict(schema),
            "normalisation": encoder.to_json()["numeric"],
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


def _fit(
    context: TaskContext,
    model: TransformerTimeSeriesModel,
    batch: EncodedBatch,
    epochs: int,
    seed: int,
    batch_size: int,
    learning_rate: float,
) -> float:
    """Mini-batch AdamW on binary cross-entropy; returns the last epoch's mean loss."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    loss_function = torch.nn.BCEWithLogitsLoss()
    shuffle = torch.Generator().manual_seed(seed)  # own generator: order independent of init
    rows = int(batch.label.numel())
    epoch_loss = float("nan")
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for index in torch.split(torch.randperm(rows, generator=shuffle), batch_size):
            part = batch.select(index)
            optimiser.zero_grad()
            logits = model(part.numeric, part.categorical, part.log_age, part.padding)
            loss = loss_function(logits, part.label)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * int(index.numel())
        epoch_loss = total / rows
        context.report_progress(
            (epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs} loss {epoch_loss:.4f}"
        )
    return epoch_loss


TRAIN_PROGRAM = TaskProgram(name="learning.train", arguments=TrainArgs, function=train)
