"""What a task program returns, and its serialisation as `outputs.json`.

The Swift control plane decodes exactly these shapes; keep the key names stable."""

from dataclasses import dataclass, field
from typing import Any, Literal

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]
FeatureKind = Literal["numeric", "categorical"]
OUTPUTS_FILE = "outputs.json"


@dataclass(frozen=True)
class TrainingSetVersion:
    """A training set the control plane registers as an immutable, content-addressed version."""

    content_hash: str
    uri: str
    row_count: int
    time_start: str
    time_end: str
    schema: dict[str, FeatureKind]
    config: dict[str, JsonValue]

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "content_hash": self.content_hash,
            "uri": self.uri,
            "row_count": self.row_count,
            "time_start": self.time_start,
            "time_end": self.time_end,
            "schema": dict(self.schema),
            "config": dict(self.config),
        }


@dataclass(frozen=True)
class ModelVersion:
    """A trained model artifact the control plane registers, linked to its training set."""

    artifact_uri: str
    artifact_hash: str
    metrics: dict[str, float]
    training_set_version: str
    config: dict[str, JsonValue]

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "artifact_uri": self.artifact_uri,
            "artifact_hash": self.artifact_hash,
            "metrics": dict(self.metrics),
            "training_set_version": self.training_set_version,
            "config": dict(self.config),
        }


@dataclass(frozen=True)
class ModelEvaluation:
    """Metrics of an existing model version, which the control plane attaches to it."""

    artifact_hash: str
    metrics: dict[str, float]

    def to_json(self) -> dict[str, JsonValue]:
        return {"artifact_hash": self.artifact_hash, "metrics": dict(self.metrics)}


@dataclass(frozen=True)
class TierMove:
    """A training-set version whose data now lives at `uri` in storage tier `tier`."""

    id: str
    uri: str
    tier: str

    def to_json(self) -> dict[str, JsonValue]:
        return {"id": self.id, "uri": self.uri, "tier": self.tier}


@dataclass(frozen=True)
class ModelPromotion:
    """Asks the control plane to move `alias` to the model version with this artifact hash,
    through the model's promotion gate."""

    artifact_hash: str
    alias: str

    def to_json(self) -> dict[str, JsonValue]:
        return {"artifact_hash": self.artifact_hash, "alias": self.alias}


@dataclass(frozen=True)
class TaskResult:
    outputs: dict[str, JsonValue]
    metrics: dict[str, float] = field(default_factory=dict)
    training_set_version: TrainingSetVersion | None = None
    model_version: ModelVersion | None = None
    model_evaluation: ModelEvaluation | None = None
    tier_moves: list[TierMove] = field(default_factory=list)
    model_promotion: ModelPromotion | None = None

    def to_json(self) -> dict[str, JsonValue]:
        document: dict[str, JsonValue] = {
            "outputs": dict(self.outputs),
            "metrics": dict(self.metrics),
        }
        if self.training_set_version is not None:
            document["training_set_version"] = self.training_set_version.to_json()
        if self.model_version is not None:
            document["model_version"] = self.model_version.to_json()
        if self.model_evaluation is not None:
            document["model_evaluation"] = self.model_evaluation.to_json()
        if self.tier_moves:
            document["tier_moves"] = [move.to_json() for move in self.tier_moves]
        if self.model_promotion is not None:
            document["model_promotion"] = self.model_promotion.to_json()
        return document
