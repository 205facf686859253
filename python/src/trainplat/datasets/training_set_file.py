"""Training-set files, in two layouts, told apart by the `format` of their build config (in
the file's metadata, with the feature schema):

- `trainplat.training_set/v1` (`datasets.training_set`): one row per labelled snapshot with
  its history as fixed-size lists. Columns: uuid, node_id, label_time (UTC timestamp), label
  (0/1), length (real positions), age_seconds (label time minus each position's snapshot
  time), then one list column per feature (float32 for numeric, string for categorical).
  Positions are right-aligned; padding in front and missing values are null.
- `trainplat.feast_training_set/v1` (`feast.training_set`): flat. Columns: uuid, node_id,
  label_time, label (int8), then one scalar column per feature (float64 or string): the
  point-in-time join's values as of the label time.

`read_training_set` reads both into the same arrays; a flat file is a history of one."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from trainplat.tasks.result import FeatureKind, JsonValue

METADATA_KEY = b"trainplat.training_set"
FORMAT = "trainplat.training_set/v1"
FLAT_FORMAT = "trainplat.feast_training_set/v1"
SEQUENCE_COLUMNS = ("uuid", "node_id", "label_time", "label", "length", "age_seconds")
FLAT_COLUMNS = ("uuid", "node_id", "label_time", "label")

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class TrainingSetData:
    schema: dict[str, FeatureKind]
    config: dict[str, JsonValue]
    label_time_us: npt.NDArray[np.int64]  # [n]
    label: npt.NDArray[np.int64]  # [n]
    age_seconds: FloatArray  # [n, history]
    valid: npt.NDArray[np.bool_]  # [n, history] False on padding
    numeric: dict[str, FloatArray]  # [n, history], NaN where missing or padding
    categorical: dict[str, ObjectArray]  # [n, history], None where missing or padding
    # [n] uuid of each row's entity (forecasting targets come from the same entity's later
    # rows); None where the data was built without one.
    entity: ObjectArray | None = None

    @property
    def rows(self) -> int:
        return int(self.label.size)


def sequence_column(values: npt.NDArray[Any], valid: npt.NDArray[np.bool_], kind: str) -> pa.Array:
    """[n, history] values -> fixed-size list column, nulls on padding and missing values."""
    history = values.shape[1]
    if kind == "numeric":
        flat = pa.array(np.where(valid, values, np.nan).ravel(), pa.float32(), from_pandas=True)
    else:
        masked = values.astype(object)
        masked[~valid] = None
        flat = pa.array(masked.ravel(), pa.string())
    return pa.FixedSizeListArray.from_arrays(flat, history)


def write_training_set(
    path: Path,
    columns: dict[str, pa.Array],
    schema: dict[str, FeatureKind],
    config: dict[str, JsonValue],
) -> None:
    metadata = {METADATA_KEY: json.dumps({"schema": schema, "config": config}).encode()}
    table = pa.table(columns).replace_schema_metadata(metadata)
    pq.write_table(table, path)


def read_metadata(path: Path) -> tuple[dict[str, FeatureKind], dict[str, JsonValue]]:
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a trainplat training set (no metadata)")
    document = json.loads(raw)
    return document["schema"], document["config"]


@dataclass(frozen=True)
class _Positions:
    """How a layout's rows become [n, history] arrays."""

    valid: npt.NDArray[np.bool_]
    age_seconds: FloatArray
    matrix: Callable[[str], npt.NDArray[Any]]  # feature column -> [n, history]


def _sequence_positions(table: pa.Table) -> _Positions:
    history = int(table.schema.field("age_seconds").type.list_size)

    def matrix(name: str) -> npt.NDArray[Any]:
        values = table.column(name).combine_chunks().flatten()
        return np.asarray(values.to_numpy(zero_copy_only=False)).reshape(-1, history)

    length = table.column("length").to_numpy().astype(np.int64)
    valid = np.arange(history)[None, :] >= (history - length)[:, None]
    return _Positions(valid, matrix("age_seconds").astype(np.float64), matrix)


def _flat_positions(table: pa.Table) -> _Positions:
    """One position per row, at the label time: the file keeps the joined values, not the
    time of the feature row they came from, so the age is 0 (and the same for every row)."""

    def matrix(name: str) -> npt.NDArray[Any]:
        return np.asarray(table.column(name).to_numpy(zero_copy_only=False)).reshape(-1, 1)

    rows = table.num_rows
    return _Positions(np.ones((rows, 1), dtype=np.bool_), np.zeros((rows, 1)), matrix)


_LAYOUTS: dict[str, tuple[tuple[str, ...], Callable[[pa.Table], _Positions]]] = {
    FORMAT: (SEQUENCE_COLUMNS, _sequence_positions),
    FLAT_FORMAT: (FLAT_COLUMNS, _flat_positions),
}


def read_training_set(path: Path) -> TrainingSetData:
    schema, config = read_metadata(path)
    layout = config.get("format")
    if not isinstance(layout, str) or layout not in _LAYOUTS:
        raise ValueError(
            f"{path} has training-set format {layout!r}; readable: {', '.join(_LAYOUTS)}"
        )
    required, positions_of = _LAYOUTS[layout]
    names = set(pq.read_schema(path).names)
    missing = [column for column in (*required, *schema) if column not in names]
    if missing:
        raise ValueError(f"{path} is not a {layout} training set: no column {missing[0]!r}")
    table = pq.read_table(path)
    positions = positions_of(table)
    return TrainingSetData(
        schema=schema,
        config=config,
        label_time_us=table.column("label_time").cast(pa.int64()).to_numpy(),
        label=table.column("label").to_numpy().astype(np.int64),
        age_seconds=positions.age_seconds,
        valid=positions.valid,
        numeric={
            k: positions.matrix(k).astype(np.float64) for k, v in schema.items() if v == "numeric"
        },
        categorical={k: positions.matrix(k) for k, v in schema.items() if v == "categorical"},
        entity=np.asarray(table.column("uuid").to_numpy(zero_copy_only=False), dtype=object),
    )
