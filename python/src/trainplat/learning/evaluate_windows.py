"""Task program `learning.evaluate_windows`: scores a model on the newest window and on
earlier windows, and against its parent (forgetting), optionally also against the
full-retrain and naive fine-tune baselines trained here on the same windows.

Flat metrics for promotion gates, for each score `s`: `auc` of the classification output
and `<name>_mae`, `<name>_rmse` of each regression or forecast output (every metric per
window is in `outputs.windows`): `newest_s`, `earlier_s` (mean over earlier windows),
`parent_newest_s`, `parent_earlier_s`, `newest_gain_s` (how much better the model is than
the parent on the newest window: model - parent for AUC, parent - model for an error),
`forgetting_s` (how much worse than the parent, mean over earlier windows; positive =
forgot), `max_forgetting_s`, and with baselines `retrain_*_s`, `finetune_*_s`; plus
`newest_accuracy`, `newest_log_loss`, `newest_rows`."""

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.training_set_file import TrainingSetData, read_training_set
from trainplat.datasets.version import file_sha256
from trainplat.learning.checkpoint import load_checkpoint_document
from trainplat.learning.device import AUTO, DeviceField, resolve_device
from trainplat.learning.encoding import FeatureEncoder
from trainplat.learning.holdout import holdout_mask, select_rows
from trainplat.learning.incremental import Hyperparameters, train_from_scratch, update
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.outputs import error_metric_names
from trainplat.learning.scoring import score
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
    device: DeviceField = AUTO  # of the scoring and the baselines' training


def window_metrics(scorer: Scorer, data: TrainingSetData) -> dict[str, float]:
    """Every output's metrics on one window (`scoring.score`)."""
    model, encoder = scorer
    return score(model, encoder, data)


def _mean(per_window: list[dict[str, float]], key: str) -> float | None:
    values = [m[key] for m in per_window if key in m]
    return float(np.mean(values)) if values else None


def _worse_by(key: str, reference: float, value: float) -> float:
    """How much worse `value` is than `reference` (AUC: higher is better; errors: lower)."""
    return reference - value if key == "auc" else value - reference


def _summary(per: dict[str, list[dict[str, float]]], keys: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for key in keys:
        for name, results in per.items():
            prefix = "" if name == "model" else f"{name}_"
            if key in results[0]:
                metrics[f"{prefix}newest_{key}"] = results[0][key]
            mean = _mean(results[1:], key)
            if mean is not None:
                metrics[f"{prefix}earlier_{key}"] = mean
        if "parent" not in per:
            continue
        if f"newest_{key}" in metrics and f"parent_newest_{key}" in metrics:
            metrics[f"newest_gain_{key}"] = -_worse_by(
                key, metrics[f"parent_newest_{key}"], metrics[f"newest_{key}"]
            )
        drops = [
            _worse_by(key, p[key], m[key])
            for p, m in zip(per["parent"][1:], per["model"][1:], strict=True)
            if key in p and key in m
        ]
        if drops:
            metrics[f"forgetting_{key}"] = float(np.mean(drops))
            metrics[f"max_forgetting_{key}"] = float(np.max(drops))
    return metrics


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
    device: str = AUTO,
) -> TaskResult:
    on = resolve_device(device)
    network, encoder, architecture = load_checkpoint_document(model)
    network.to(on)
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
        parent.to(on)
        scorers["parent"] = (parent, parent_encoder)
    if baselines:
        if parent_model is None:
            raise ValueError("baselines need parent_model (the naive fine-tune starts from it)")
        train_newest = full_newest if held_out is None else select_rows(full_newest, ~held_out)
        hyper = Hyperparameters(baseline_epochs, seed, batch_size, learning_rate)
        context.report_progress(0.1, "training the full-retrain baseline")
        retrain = train_from_scratch(
            [*earlier_data, train_newest],
            architecture=architecture,
            hyper=hyper,
            outputs=encoder.outputs,
            device=on,
        )
        scorers["retrain"] = (retrain.model, retrain.encoder)
        context.report_progress(0.4, "training the naive fine-tune baseline")
        finetune = update(
            parent,
            parent_encoder=parent_encoder,
            architecture=parent_architecture,
            data=train_newest,
            hyper=hyper,
            device=on,
        )
        scorers["finetune"] = (finetune.model, finetune.encoder)

    per: dict[str, list[dict[str, float]]] = {name: [] for name in scorers}
    for index, (_, _, data) in enumerate(windows):
        for name, scorer in scorers.items():
            per[name].append(window_metrics(scorer, data))
        context.report_progress(0.7 + 0.3 * (index + 1) / len(windows), f"window {index + 1}")

    scores = ["auc", *error_metric_names(encoder.outputs)]
    metrics = _summary(per, scores)
    on_newest = per["model"][0]
    metrics.update(
        {f"newest_{k}": on_newest[k] for k in ("accuracy", "log_loss") if k in on_newest}
    )
    metrics["newest_rows"] = on_newest["rows"]

    table: list[dict[str, Any]] = []
    for index, (path, role, _) in enumerate(windows):
        row: dict[str, Any] = {"training_set": str(path), "role": role}
        for name, results in per.items():
            prefix = "" if name == "model" else f"{name}_"
            row.update({f"{prefix}{key}": value for key, value in results[index].items()})
        for key in scores:
            if key in row and f"parent_{key}" in row and role == "earlier":
                row[f"forgetting_{key}"] = _worse_by(key, row[f"parent_{key}"], row[key])
        table.append(row)
    outputs: dict[str, JsonValue] = {**metrics, "windows": table, "device": str(on)}
    evaluation = ModelEvaluation(artifact_hash=file_sha256(model), metrics=metrics)
    return TaskResult(outputs=outputs, metrics=metrics, model_evaluation=evaluation)


EVALUATE_WINDOWS_PROGRAM = TaskProgram(
    name="learning.evaluate_windows", arguments=EvaluateWindowsArgs, function=evaluate_windows
)
