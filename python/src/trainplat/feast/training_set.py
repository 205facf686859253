"""Task program `feast.training_set`: labels from tagged snapshots, features from Feast's
`get_historical_features` through the trainplat offline store (point-in-time correct, TTL
respected, label rows without features kept with nulls), written as one Parquet file and
registered as a content-addressed training-set version."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.quality import QualityThresholds, assess_quality
from trainplat.datasets.training_set_file import FLAT_FORMAT, write_training_set
from trainplat.datasets.version import content_hash
from trainplat.doris.snapshot_file import TIME_TYPE, read_feature_schema
from trainplat.feast.offline_store import STORE_TYPE
from trainplat.feast.repo import REGISTRY_FILE, AppliedRepo, apply_repo, spec_from_snapshots
from trainplat.feast.retrieval_job import connect
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import FeatureKind, JsonValue, TaskResult, TrainingSetVersion

TRAINING_SET_FILE = "training_set.parquet"
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
DATA_DIR_ENV = "TRAINPLAT_DATA_DIR"


class FeastTrainingSetArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshots: FilePath
    feature_keys: list[str] | None = None
    ttl: int = Field(DEFAULT_TTL_SECONDS, ge=0)  # seconds; 0 means no TTL
    label_key: str = "label"
    project: str = "default"
    registry: Path | None = None  # SQLite registry file; its folder holds the feature repo
    reference: FilePath | None = None  # a parent training set, for the drift check


def repo_dir_for(context: TaskContext, project: str, registry: Path | None) -> Path:
    """The project's feature repo: the folder of `registry` (a file named registry.db) when
    given, else `$TRAINPLAT_DATA_DIR/feast/<project>`, else `<task dir>/feast/<project>`."""
    if registry is not None:
        if registry.name != REGISTRY_FILE:
            raise ValueError(f"registry must be a file named {REGISTRY_FILE}, got {registry}")
        return registry.parent
    data_dir = os.environ.get(DATA_DIR_ENV)
    if data_dir:
        return Path(data_dir) / "feast" / project
    return context.task_dir / "feast" / project


def label_frame(snapshots: Path, label_key: str) -> pd.DataFrame:
    """Tagged snapshots with a label: uuid, node_id, event_timestamp, label; in (time,
    uuid, node_id) order, so the output order never depends on the extract's."""
    path = str(snapshots).replace("'", "''")
    column = '"' + label_key.replace('"', '""') + '"'
    with connect() as connection:
        table = connection.sql(
            f"SELECT uuid, node_id, time AS event_timestamp, {column} AS label "
            f"FROM read_parquet('{path}') WHERE is_tag AND {column} IS NOT NULL "
            "ORDER BY time, uuid, node_id"
        ).to_arrow_table()
    frame: pd.DataFrame = table.to_pandas()
    if not frame["label"].isin((0.0, 1.0)).all():
        raise ValueError(f"label {label_key!r} must be 0 or 1 on every tagged snapshot")
    if frame.empty:
        raise ValueError(f"{snapshots} has no tagged snapshots with a {label_key!r} value")
    return frame


def historical_features(applied: AppliedRepo, labels: pd.DataFrame) -> pa.Table:
    job = applied.store.get_historical_features(entity_df=labels, features=applied.feature_refs())
    return job.to_arrow()


def build_feast_training_set(
    context: TaskContext,
    *,
    snapshots: Path,
    feature_keys: list[str] | None = None,
    ttl: int = DEFAULT_TTL_SECONDS,
    label_key: str = "label",
    project: str = "default",
    registry: Path | None = None,
    reference: Path | None = None,
) -> TaskResult:
    kinds = read_feature_schema(snapshots)
    if kinds.get(label_key) != "numeric":
        raise ValueError(f"{snapshots} has no numeric label feature {label_key!r}")
    if feature_keys is not None and label_key in feature_keys:
        raise ValueError(f"the label {label_key!r} cannot also be a feature")
    repo_dir = repo_dir_for(context, project, registry)
    context.report_progress(0.0, "applying feature repo")
    spec = spec_from_snapshots(
        project, snapshots, ttl_seconds=ttl, feature_keys=feature_keys, exclude=(label_key,)
    )
    applied = apply_repo(spec, repo_dir)
    labels = label_frame(snapshots, label_key)
    context.report_progress(0.3, f"point-in-time join for {len(labels)} labels")
    joined = historical_features(applied, labels)

    features: dict[str, FeatureKind] = dict(spec.views[0].features)
    table = _training_table(joined, features)
    quality = assess_quality(
        table,
        features=features,
        reference=pq.read_table(reference) if reference is not None else None,
        thresholds=QualityThresholds(),
    )
    config: dict[str, JsonValue] = {
        "format": FLAT_FORMAT,
        "label_key": label_key,
        "ttl_seconds": ttl,
        "feature_keys": list(features),
        "feast": {
            "project": project,
            "offline_store": STORE_TYPE,
            "feature_views": dict(applied.view_versions),
        },
        "quality_score": quality.score,
        "quality": quality.to_json(),
    }
    context.report_progress(0.8, "writing training set")
    output = (context.task_dir / TRAINING_SET_FILE).resolve()
    write_training_set(output, {n: table.column(n) for n in table.column_names}, features, config)
    version = content_hash(output, config)
    times = table.column("label_time").cast(pa.int64()).to_numpy()
    rows = table.num_rows
    context.report_progress(1.0, f"training set {version[:12]} with {rows} rows")
    return TaskResult(
        outputs={
            "training_set": str(output),
            "rows": rows,
            "version": version,
            "quality_score": quality.score,
            "repo": str(repo_dir.resolve()),
        },
        metrics={
            "rows": float(rows),
            "positive_rate": float(table.column("label").to_numpy().mean()),
            "quality_score": quality.score,
        },
        training_set_version=TrainingSetVersion(
            content_hash=version,
            uri=output.as_uri(),
            row_count=rows,
            time_start=_iso(int(times.min())),
            time_end=_iso(int(times.max())),
            schema=features,
            config=config,
        ),
    )


def _training_table(joined: pa.Table, features: dict[str, FeatureKind]) -> pa.Table:
    """uuid, node_id, label_time, label (int8), then one column per feature."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "uuid": joined.column("uuid").cast(pa.string()),
        "node_id": joined.column("node_id").cast(pa.string()),
        "label_time": joined.column("event_timestamp").cast(TIME_TYPE),
        "label": joined.column("label").cast(pa.int8()),
    }
    for key, kind in features.items():
        columns[key] = joined.column(key).cast(pa.float64() if kind == "numeric" else pa.string())
    return pa.table(columns)


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")


FEAST_TRAINING_SET_PROGRAM = TaskProgram(
    name="feast.training_set", arguments=FeastTrainingSetArgs, function=build_feast_training_set
)
