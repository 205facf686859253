"""Task program `datasets.training_set`: turn extracted snapshots into labelled,
point-in-time-correct history windows and register them as a content-addressed version."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, FilePath

from trainplat.datasets.training_set_file import FORMAT, sequence_column, write_training_set
from trainplat.datasets.version import content_hash
from trainplat.datasets.windows import history_windows
from trainplat.doris.snapshot_file import TIME_TYPE, read_feature_schema
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import FeatureKind, JsonValue, TaskResult, TrainingSetVersion

TRAINING_SET_FILE = "training_set.parquet"
DEFAULT_HISTORY = 16
DEFAULT_LABEL_KEY = "label"


class TrainingSetArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshots: FilePath
    history: int = Field(DEFAULT_HISTORY, ge=1, le=1024)
    label_key: str = DEFAULT_LABEL_KEY


def build_training_set(
    context: TaskContext,
    *,
    snapshots: Path,
    history: int = DEFAULT_HISTORY,
    label_key: str = DEFAULT_LABEL_KEY,
) -> TaskResult:
    kinds = read_feature_schema(snapshots)
    if kinds.get(label_key) != "numeric":
        raise ValueError(f"{snapshots} has no numeric label feature {label_key!r}")
    features: dict[str, FeatureKind] = {k: v for k, v in kinds.items() if k != label_key}
    context.report_progress(0.0, "reading snapshots")
    table = pq.read_table(snapshots)
    uuids = np.asarray(table.column("uuid").to_numpy(zero_copy_only=False), dtype=object)
    entity_names, entity = np.unique(uuids, return_inverse=True)
    time_us = table.column("time").cast(pa.int64()).to_numpy()
    order = np.lexsort((time_us, entity))
    entity, time_us = entity[order].astype(np.int64), time_us[order]

    label_values = table.column(label_key).to_numpy()[order]
    is_label = table.column("is_tag").to_numpy()[order] & ~np.isnan(label_values)
    if not np.isin(label_values[is_label], (0.0, 1.0)).all():
        raise ValueError(f"label {label_key!r} must be 0 or 1 on every tagged snapshot")
    windows = history_windows(entity, time_us, is_label, history)
    if windows.label_rows.size == 0:
        raise ValueError(f"{snapshots} has no tagged snapshots with a {label_key!r} value")
    context.report_progress(0.3, f"{windows.label_rows.size} labelled windows")

    # Examples in label-time order (then uuid), so a time-based split is a slice.
    label_rows = windows.label_rows
    label_time = time_us[label_rows]
    example_order = np.lexsort((entity[label_rows], label_time))
    rows, valid = windows.rows[example_order], windows.valid[example_order]
    label_rows, label_time = label_rows[example_order], label_time[example_order]

    columns: dict[str, pa.Array] = {
        "uuid": pa.array(entity_names[entity[label_rows]], pa.string()),
        "node_id": pa.array(
            table.column("node_id").to_numpy(zero_copy_only=False)[order][label_rows], pa.string()
        ),
        "label_time": pa.array(label_time, pa.int64()).cast(TIME_TYPE),
        "label": pa.array(label_values[label_rows].astype(np.int8), pa.int8()),
        "length": pa.array(valid.sum(axis=1).astype(np.int32), pa.int32()),
        "age_seconds": pa.FixedSizeListArray.from_arrays(
            pa.array(np.where(valid, (label_time[:, None] - time_us[rows]) / 1e6, 0.0).ravel()),
            history,
        ),
    }
    for key, kind in features.items():
        values = table.column(key).to_numpy(zero_copy_only=False)[order]
        columns[key] = sequence_column(np.asarray(values)[rows], valid, kind)
    context.report_progress(0.7, "writing training set")

    config: dict[str, JsonValue] = {"format": FORMAT, "history": history, "label_key": label_key}
    output = (context.task_dir / TRAINING_SET_FILE).resolve()
    write_training_set(output, columns, dict(features), config)
    version = content_hash(output, config)
    row_count = int(label_rows.size)
    context.report_progress(1.0, f"training set {version[:12]} with {row_count} rows")
    return TaskResult(
        outputs={"training_set": str(output), "rows": row_count, "version": version},
        metrics={"rows": float(row_count), "positive_rate": float(label_values[label_rows].mean())},
        training_set_version=TrainingSetVersion(
            content_hash=version,
            uri=output.as_uri(),
            row_count=row_count,
            time_start=_iso(int(label_time[0])),
            time_end=_iso(int(label_time[-1])),
            schema=dict(features),
            config=config,
        ),
    )


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")


TRAINING_SET_PROGRAM = TaskProgram(
    name="datasets.training_set", arguments=TrainingSetArgs, function=build_training_set
)
