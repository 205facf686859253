"""A project's Feast feature repo, generated from the snapshot schema and applied through
the Feast SDK: feature_store.yaml (SQL registry on SQLite, SQLite online store, our offline
store by class path), entities `uuid` and `node_id`, feature views over the snapshot Parquet
with TTLs, each tagged with the hash of its canonical definition."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, String
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField

from trainplat.doris.keys import validate_feature_key
from trainplat.doris.snapshot_file import read_feature_schema
from trainplat.feast.definitions import VERSION_TAG, definition_hash
from trainplat.feast.offline_store import STORE_TYPE
from trainplat.tasks.result import FeatureKind

REPO_CONFIG_FILE = "feature_store.yaml"
REGISTRY_FILE = "registry.db"
ONLINE_FILE = "online.db"
SOURCE_NAME = "snapshots"
DEFAULT_VIEW = "snapshot_features"
EntityKey = Literal["uuid", "node_id"]
_PROJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class FeatureViewSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    features: dict[str, FeatureKind]
    ttl_seconds: int = PydanticField(ge=0)  # 0: no TTL, as in Feast
    entities: tuple[EntityKey, ...] = ("uuid",)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_feature_key(value)


class FeatureRepoSpec(BaseModel):
    """What a generated repo holds; `type` names the offline layout (Parquet snapshots)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["parquet_snapshots"] = "parquet_snapshots"
    project: str
    snapshots: Path
    views: tuple[FeatureViewSpec, ...]

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not _PROJECT.fullmatch(value):
            raise ValueError(f"Feast project {value!r} must match {_PROJECT.pattern}")
        return value


def spec_from_snapshots(
    project: str,
    snapshots: Path,
    *,
    ttl_seconds: int,
    feature_keys: list[str] | None = None,
    exclude: tuple[str, ...] = (),
) -> FeatureRepoSpec:
    """One view over the chosen features (all but `exclude` when none are named)."""
    kinds = read_feature_schema(snapshots)
    keys = feature_keys if feature_keys is not None else [k for k in kinds if k not in exclude]
    missing = [key for key in keys if key not in kinds]
    if missing:
        raise ValueError(f"{snapshots} has no features {missing}")
    view = FeatureViewSpec(
        name=DEFAULT_VIEW, features={k: kinds[k] for k in keys}, ttl_seconds=ttl_seconds
    )
    return FeatureRepoSpec(project=project, snapshots=snapshots.resolve(), views=(view,))


def entity(name: str) -> Entity:
    return _ENTITIES[name]()


_ENTITIES: dict[str, Callable[[], Entity]] = {
    "uuid": lambda: Entity(name="uuid", join_keys=["uuid"], value_type=ValueType.STRING),
    "node_id": lambda: Entity(name="node_id", join_keys=["node_id"], value_type=ValueType.STRING),
}


def feature_views(spec: FeatureRepoSpec) -> list[FeatureView]:
    source = FileSource(name=SOURCE_NAME, path=str(spec.snapshots), timestamp_field="time")
    views = []
    for view_spec in spec.views:
        view = FeatureView(
            name=view_spec.name,
            entities=[entity(name) for name in view_spec.entities],
            ttl=timedelta(seconds=view_spec.ttl_seconds),
            schema=[
                *(Field(name=name, dtype=String) for name in view_spec.entities),
                *(
                    Field(name=key, dtype=Float64 if kind == "numeric" else String)
                    for key, kind in view_spec.features.items()
                ),
            ],
            source=source,
            online=True,
        )
        view.tags[VERSION_TAG] = definition_hash(view)
        views.append(view)
    return views


def repo_config(spec: FeatureRepoSpec, repo_dir: Path) -> dict[str, object]:
    return {
        "project": spec.project,
        "provider": "local",
        "registry": {
            "registry_type": "sql",
            "path": f"sqlite:///{(repo_dir / REGISTRY_FILE).resolve()}",
            "cache_ttl_seconds": 60,
        },
        "online_store": {"type": "sqlite", "path": str((repo_dir / ONLINE_FILE).resolve())},
        "offline_store": {"type": STORE_TYPE},
        "entity_key_serialization_version": 3,
        # The trainplat stores make the entity frame's times UTC themselves (as Feast
        # would); Feast's coercion copies the whole frame first (0.6 s per million labels).
        "coerce_tz_aware": False,
    }


@dataclass(frozen=True)
class AppliedRepo:
    store: FeatureStore
    views: list[FeatureView]

    @property
    def view_versions(self) -> dict[str, str]:
        return {view.name: view.tags[VERSION_TAG] for view in self.views}

    def feature_refs(self) -> list[str]:
        return feature_refs(self.views)


def feature_refs(views: list[FeatureView]) -> list[str]:
    """`view:feature` for every feature of `views` (entity columns are not features)."""
    return [
        f"{view.name}:{field.name}"
        for view in views
        for field in view.features
        if field.name not in _ENTITIES
    ]


def apply_repo(spec: FeatureRepoSpec, repo_dir: Path) -> AppliedRepo:
    """Write feature_store.yaml (JSON is YAML) and the spec, then `apply` through the SDK."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    (repo_dir / REPO_CONFIG_FILE).write_text(json.dumps(repo_config(spec, repo_dir), indent=2))
    (repo_dir / "repo_spec.json").write_text(spec.model_dump_json(indent=2))
    store = FeatureStore(repo_path=str(repo_dir))
    views = feature_views(spec)
    entities = sorted({name for view in spec.views for name in view.entities})
    source = views[0].batch_source
    assert source is not None  # feature_views gives every view the snapshot source
    store.apply([*(entity(name) for name in entities), source, *views])
    return AppliedRepo(store=store, views=views)
