"""Task program `learning.incremental_update`: a child of a parent model artifact trained on
a new training set with LwF distillation, replay of earlier windows and EWC, each switched
by its own arguments. Writes `model.pt` and `manifest.json` like `learning.train`, and names
the parent in the model version (`parent.artifact_hash`, `config.parent_artifact_hash`)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, FilePath, model_validator

from trainplat.datasets.training_set_file import read_metadata, read_training_set
from trainplat.datasets.version import content_hash, file_sha256
from trainplat.learning.checkpoint import load_checkpoint_document, save_checkpoint
from trainplat.learning.device import AUTO, DeviceField, resolve_device
from trainplat.learning.holdout import holdout_mask, select_rows
from trainplat.learning.incremental import Hyperparameters, update
from trainplat.learning.outputs import outputs_to_json
from trainplat.learning.plugins import (
    AnyPluginConfig,
    DistillationConfig,
    EwcConfig,
    ReplayConfig,
)
from trainplat.learning.scoring import training_metrics
from trainplat.learning.train import MANIFEST_FILE, MODEL_FILE
from trainplat.tasks.atomic import write_json_atomic
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, ModelVersion, TaskResult

DEFAULTS = Hyperparameters()
# The plugins' own defaults, so that a change to one (replay's batch fraction) is made once.
LWF, REPLAY, EWC = DistillationConfig(), ReplayConfig(), EwcConfig()


class IncrementalUpdateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parent_model: FilePath
    parent_manifest: FilePath | None = None  # default: manifest.json beside parent_model
    training_set: FilePath
    earlier_sets: tuple[FilePath, ...] = ()  # oldest first
    holdout_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    epochs: int = Field(DEFAULTS.epochs, ge=1, le=1000)
    seed: int = DEFAULTS.seed
    batch_size: int = Field(DEFAULTS.batch_size, ge=1)
    learning_rate: float = Field(DEFAULTS.learning_rate, gt=0.0, le=1.0)
    distillation: bool = True
    distillation_temperature: float = Field(LWF.temperature, gt=0.0, le=100.0)
    distillation_alpha: float = Field(LWF.alpha, ge=0.0)
    replay: bool = True
    replay_size: int = Field(REPLAY.size, ge=1)
    replay_weight: float = Field(REPLAY.weight, ge=0.0)
    replay_batch_fraction: float = Field(REPLAY.batch_fraction, gt=0.0, le=10.0)
    ewc: bool = False
    ewc_lambda: float = Field(EWC.lambda_, ge=0.0)
    device: DeviceField = AUTO

    @model_validator(mode="after")
    def _earlier_sets_for_replay_and_ewc(self) -> Self:
        if (self.replay or self.ewc) and not self.earlier_sets:
            raise ValueError("replay and ewc need earlier_sets (or set replay/ewc to false)")
        return self


@dataclass(frozen=True)
class ChildModelVersion(ModelVersion):
    """A model version with its parent, which the control plane links by artifact hash."""

    parent_artifact_hash: str

    def to_json(self) -> dict[str, JsonValue]:
        return {**super().to_json(), "parent": {"artifact_hash": self.parent_artifact_hash}}


def plugin_configs(args: IncrementalUpdateArgs) -> list[AnyPluginConfig]:
    configs: list[AnyPluginConfig] = []
    if args.distillation:
        configs.append(
            DistillationConfig(
                temperature=args.distillation_temperature, alpha=args.distillation_alpha
            )
        )
    if args.replay:
        configs.append(
            ReplayConfig(
                size=args.replay_size,
                weight=args.replay_weight,
                batch_fraction=args.replay_batch_fraction,
                seed=args.seed,
            )
        )
    if args.ewc:
        configs.append(EwcConfig(lambda_=args.ewc_lambda, seed=args.seed))
    return configs


def incremental_update(
    context: TaskContext,
    *,
    parent_model: Path,
    training_set: Path,
    parent_manifest: Path | None = None,
    earlier_sets: tuple[Path, ...] = (),
    holdout_fraction: float = 0.0,
    epochs: int = DEFAULTS.epochs,
    seed: int = DEFAULTS.seed,
    batch_size: int = DEFAULTS.batch_size,
    learning_rate: float = DEFAULTS.learning_rate,
    distillation: bool = True,
    distillation_temperature: float = LWF.temperature,
    distillation_alpha: float = LWF.alpha,
    replay: bool = True,
    replay_size: int = REPLAY.size,
    replay_weight: float = REPLAY.weight,
    replay_batch_fraction: float = REPLAY.batch_fraction,
    ewc: bool = False,
    ewc_lambda: float = EWC.lambda_,
    device: str = AUTO,
) -> TaskResult:
    args = IncrementalUpdateArgs(
        parent_model=parent_model,
        training_set=training_set,
        parent_manifest=parent_manifest,
        earlier_sets=tuple(earlier_sets),
        holdout_fraction=holdout_fraction,
        epochs=epochs,
        seed=seed,
        batch_size=batch_size,
        learning_rate=learning_rate,
        distillation=distillation,
        distillation_temperature=distillation_temperature,
        distillation_alpha=distillation_alpha,
        replay=replay,
        replay_size=replay_size,
        replay_weight=replay_weight,
        replay_batch_fraction=replay_batch_fraction,
        ewc=ewc,
        ewc_lambda=ewc_lambda,
        device=device,
    )
    on = resolve_device(args.device)
    parent_hash = file_sha256(args.parent_model)
    parent_document = _parent_manifest(args, parent_hash)
    parent, parent_encoder, architecture = load_checkpoint_document(args.parent_model)
    data = read_training_set(args.training_set)
    if args.holdout_fraction > 0.0:
        data = select_rows(data, ~holdout_mask(args.training_set, args.holdout_fraction))
    earlier = [read_training_set(path) for path in args.earlier_sets]
    configs = plugin_configs(args)
    names = ", ".join(c.type for c in configs) or "none (naive fine-tune)"
    context.report_progress(0.05, f"{data.rows} new rows, plugins: {names}")

    def on_epoch(epoch: int, epochs: int, loss: float, terms: dict[str, float]) -> None:
        detail = ", ".join(f"{name} {value:.4f}" for name, value in terms.items())
        context.report_progress(
            0.05 + 0.9 * epoch / epochs, f"epoch {epoch}/{epochs} loss {loss:.4f} ({detail})"
        )

    hyper = Hyperparameters(
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
    )
    child = update(
        parent,
        parent_encoder=parent_encoder,
        architecture=architecture,
        data=data,
        earlier=earlier,
        plugins=configs,
        hyper=hyper,
        on_epoch=on_epoch,
        device=on,
    )

    metrics: dict[str, float] = {
        "train_loss": child.report.loss,
        **training_metrics(child.model, child.encoder, data),
        **{f"loss_{name}": value for name, value in child.report.terms.items()},
        **child.report.plugin_metrics,
        **child.added,
    }

    model_path = (context.task_dir / MODEL_FILE).resolve()
    save_checkpoint(model_path, child.model, child.encoder, architecture)
    artifact_hash = file_sha256(model_path)
    schema, set_config = read_metadata(args.training_set)
    training_set_version = content_hash(args.training_set, set_config)
    config: dict[str, JsonValue] = {
        **architecture,
        "epochs": args.epochs,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "history": int(data.valid.shape[1]),
        "outputs": outputs_to_json(child.encoder.outputs),
        "device": str(on),
        "holdout_fraction": args.holdout_fraction,
        "parent_artifact_hash": parent_hash,
        "plugins": [c.model_dump() for c in configs],
        "earlier_training_set_versions": [
            content_hash(path, read_metadata(path)[1]) for path in args.earlier_sets
        ],
    }
    write_json_atomic(
        context.task_dir / MANIFEST_FILE,
        {
            "artifact": MODEL_FILE,
            "artifact_hash": artifact_hash,
            "config": config,
            "feature_schema": dict(schema),
            "normalisation": child.encoder.to_json()["numeric"],
            "metrics": metrics,
            "training_set_version": training_set_version,
            "parent": {
                "artifact_hash": parent_hash,
                "training_set_version": parent_document.get("training_set_version"),
            },
        },
    )
    context.report_progress(1.0, f"model {artifact_hash[:12]} (parent {parent_hash[:12]})")
    return TaskResult(
        outputs={
            "model": str(model_path),
            "train_loss": child.report.loss,
            "parent_artifact_hash": parent_hash,
        },
        metrics=metrics,
        model_version=ChildModelVersion(
            artifact_uri=model_path.as_uri(),
            artifact_hash=artifact_hash,
            metrics=metrics,
            training_set_version=training_set_version,
            config=config,
            parent_artifact_hash=parent_hash,
        ),
    )


def _parent_manifest(args: IncrementalUpdateArgs, parent_hash: str) -> dict[str, Any]:
    path = args.parent_manifest or args.parent_model.parent / MANIFEST_FILE
    if not path.is_file():
        if args.parent_manifest is not None:
            raise FileNotFoundError(path)
        return {}
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("artifact_hash") != parent_hash:
        raise ValueError(
            f"{path} describes artifact {manifest.get('artifact_hash')}, "
            f"not {args.parent_model} ({parent_hash})"
        )
    return manifest


INCREMENTAL_UPDATE_PROGRAM = TaskProgram(
    name="learning.incremental_update",
    arguments=IncrementalUpdateArgs,
    function=incremental_update,
)
