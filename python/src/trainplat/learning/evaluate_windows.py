"""Task program `learning.evaluate_windows`: scores a model on the newest window and on
earlier windows, and against its parent (forgetting), optionally also against the
full-retrain and naive fine-tune baselines trained here on the same windows.

Flat metrics for promotion gates (AUC; `accuracy` and `log_loss` per window in `outputs`):
`newest_auc`, `earlier_auc` (mean over earlier windows), `parent_newest_auc`,
`parent_earlier_auc`, `newest_gain_auc` (model - parent on the newest),
`forgetting_auc` (parent - model, mean over earlier windows; positive = forgot),
`max_forgetting_auc`, and with baselines `retrain_*_auc`, `finetune_*_auc`."""

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.training_set_file import TrainingSetData, read_training_set
from trainplat.datasets.version import file_sha256
from trainplat.learning.checkpoint import load_checkpoint_document
from trainplat.learning.encoding import FeatureEncoder
from trainplat.learning.holdout import holdout_mask, select_rows
from trainplat.learning.incremental import Hyperparameters, train_from_scratch, update
from trainplat.learning.metrics import accuracy, log_loss, roc_auc
from trainplat.learning.model import TransformerTimeSeriesModel, predict_probabilities
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, ModelEvaluation, TaskResult

Scorer = tuple[TransformerTimeSeriesModel, FeatureEncoder]


class EvaluateWindowsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: FilePath
    newest: FilePath
    earlier: tuple[FilePath, ...] = ()  # oldest first
    parent_model: FilePath | None = None
    holdout_fraction: float = Field(0.0, ge=0.0, lt=1.0)  # score only held-out newest rows
    baselines: bool = False
    baseline_epochs: int = Field(2, ge=1, le=1000)
    seed: int = 0
    batch_size: int = Field(256, ge=1)
    learning_rate: float = Field(1e-3, gt=0.0, le=1.0)


def window_metrics(scorer: Scorer, data: TrainingSetData) -> dict[str, float]:
    """auc (when both classes occur), accuracy, log_loss, rows."""
    model, encoder = scorer
    batch = encoder.encode(data)
    probabilities = predict_probabilities(model, batch, 1024).double().numpy()
    metrics = {
        "accuracy": accuracy(data.label, probabilities),
        "log_loss": log_loss(data.label, probabilities),
        "rows": float(data.rows),
    }
    if 0 < data.label.sum() < data.rows:
        metrics["auc"] = roc_auc(data.label, probabilities)
    return metrics


def _mean_auc(per_window: list[dict[str, float]]) -> float | None:
    values = [m["auc"] for m in per_window if "auc" in m]
    return float(np.mean(values)) if values else None


def evaluate_windows(
    context: TaskContext,
    *,
    model: Path,
    newest: Path,
    earlier: tuple[Path, ...] = (),
    parent_model: Path | None = None,
    holdout_fraction: float = 0.0,
    baselines: bool = False,
    baseline_epochs: int = 2,
    seed: int = 0,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
) -> TaskResult:
    network, encoder, architecture = load_checkpoint_document(model)
    full_newest = read_training_set(newest)
    held_out = holdout_mask(newest, holdout_fraction) if holdout_fraction > 0 else None
    newest_data = full_newest if held_out is None else select_rows(full_newest, held_out)
    earlier_data = [read_training_set(path) for path in earlier]
    windows = [(newest, "newest", newest_data)] + [
        (p, "earlier", d) for p, d in zip(earlier, earlier_data, strict=True)
    ]
    scorers: dict[str, Scorer] = {"model": (network, encoder)}
    if parent_model is not None:
        parent, parent_encoder, parent_architecture = load_checkpoint_document(parent_model)
        scorers["parent"] = (parent, parent_encoder)
    if baselines:
        if parent_model is None:
            raise ValueError("baselines need parent_model (the naive fine-tune starts from it)")
        train_newest = full_newest if held_out is None else select_rows(full_newest, ~held_out)
        hyper = Hyperparameters(baseline_epochs, seed, batch_size, learning_rate)
        context.report_progress(0.1, "training the full-retrain baseline")
        retrain = train_from_scratch(
            [*earlier_data, train_newest], architecture=architecture, hyper=hyper
        )
        scorers["retrain"] = (retrain.model, retrain.encoder)
        context.report_progress(0.4, "training the naive fine-tune baseline")
        finetune = update(
            parent,
            parent_encoder=parent_encoder,
            architecture=parent_architecture,
            data=train_newest,
            hyper=hyper,
        )
        scorers["finetune"] = (finetune.model, finetune.encoder)

    per: dict[str, list[dict[str, float]]] = {name: [] for name in scorers}
    for index, (_, _, data) in enumerate(windows):
        for name, scorer in scorers.items():
            per[name].append(window_metrics(scorer, data))
        context.report_progress(0.7 + 0.3 * (index + 1) / len(windows), f"window {index + 1}")

    metrics: dict[str, float] = {}
    for name, results in per.items():
        prefix = "" if name == "model" else f"{name}_"
        if "auc" in results[0]:
            metrics[f"{prefix}newest_auc"] = results[0]["auc"]
        mean = _mean_auc(results[1:])
        if mean is not None:
            metrics[f"{prefix}earlier_auc"] = mean
    metrics["newest_accuracy"] = per["model"][0]["accuracy"]
    metrics["newest_log_loss"] = per["model"][0]["log_loss"]
    metrics["newest_rows"] = per["model"][0]["rows"]
    if "parent" in per:
        if "newest_auc" in metrics and "parent_newest_auc" in metrics:
            metrics["newest_gain_auc"] = metrics["newest_auc"] - metrics["parent_newest_auc"]
        drops = [
            p["auc"] - m["auc"]
            for p, m in zip(per["parent"][1:], per["model"][1:], strict=True)
            if "auc" in p and "auc" in m
        ]
        if drops:
            metrics["forgetting_auc"] = float(np.mean(drops))
            metrics["max_forgetting_auc"] = float(np.max(drops))

    table: list[dict[str, Any]] = []
    for index, (path, role, _) in enumerate(windows):
        row: dict[str, Any] = {"training_set": str(path), "role": role}
        for name, results in per.items():
            prefix = "" if name == "model" else f"{name}_"
            row.update({f"{prefix}{key}": value for key, value in results[index].items()})
        if "auc" in row and "parent_auc" in row and role == "earlier":
            row["forgetting_auc"] = row["parent_auc"] - row["auc"]
        table.append(row)
    outputs: dict[str, JsonValue] = {**metrics, "windows": table}
    evaluation = ModelEvaluation(artifact_hash=file_sha256(model), metrics=metrics)
    return TaskResult(outputs=outputs, metrics=metrics, model_evaluation=evaluation)


EVALUATE_WINDOWS_PROGRAM = TaskProgram(
    name="learning.evaluate_windows", arguments=EvaluateWindowsArgs, function=evaluate_windows
)
