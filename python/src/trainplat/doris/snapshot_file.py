"""The `snapshots.parquet` file extraction writes and training-set building reads.

Columns: uuid, node_id, time (UTC timestamp), is_tag, then one column per feature key
(float64 for numeric, string for categorical). The feature schema `{key: kind}` is kept in
the file's metadata so readers never guess which columns are features."""

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq

from trainplat.doris.parse import categorical_values, numeric_values
from trainplat.doris.schema import SnapshotRow, decode_times_us
from trainplat.tasks.result import FeatureKind

FEATURE_SCHEMA_KEY = b"trainplat.feature_schema"
TIME_TYPE = pa.timestamp("us", tz="UTC")


def arrow_schema(kinds: dict[str, FeatureKind]) -> pa.Schema:
    fields = [
        pa.field("uuid", pa.string(), nullable=False),
        pa.field("node_id", pa.string(), nullable=False),
        pa.field("time", TIME_TYPE, nullable=False),
        pa.field("is_tag", pa.bool_(), nullable=False),
    ]
    for key, kind in kinds.items():
        fields.append(pa.field(key, pa.float64() if kind == "numeric" else pa.string()))
    return pa.schema(fields, metadata={FEATURE_SCHEMA_KEY: json.dumps(kinds).encode()})


def record_batch(
    rows: Sequence[SnapshotRow], kinds: dict[str, FeatureKind], schema: pa.Schema
) -> pa.RecordBatch:
    objects: list[dict[str, Any]] = [json.loads(row.features) for row in rows]
    columns = [
        pa.array([row.uuid for row in rows], pa.string()),
        pa.array([str(row.node_id) for row in rows], pa.string()),
        pa.array(decode_times_us([row.time for row in rows]), TIME_TYPE),
        pa.array([row.is_tag for row in rows], pa.bool_()),
    ]
    columns.extend(_feature_columns(objects, kinds, schema))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _feature_columns(
    objects: list[dict[str, Any]], kinds: dict[str, FeatureKind], schema: pa.Schema
) -> list[pa.Array]:
    """Arrow converts the parsed objects in C++ (ints and booleans to float64, absent keys to
    null). It refuses numbers in a string column, which only a key seen with both kinds has;
    such chunks take the slower per-value path that writes those numbers as text."""
    feature_type = pa.struct([schema.field(key) for key in kinds])
    try:
        struct = pa.array(objects, type=feature_type)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return [
            pa.array(numeric_values(objects, key), pa.float64())
            if kind == "numeric"
            else pa.array(categorical_values(objects, key), pa.string())
            for key, kind in kinds.items()
        ]
    return [struct.field(index) for index in range(len(kinds))]


def write_snapshot_file(
    path: Path,
    chunks: Iterable[Sequence[SnapshotRow]],
    kinds: dict[str, FeatureKind],
    on_chunk: Callable[[Sequence[SnapshotRow], int], None],
) -> int:
    """Write chunk by chunk (memory bounded by one chunk); `on_chunk` gets each chunk and the
    running row count after it. Returns the number of rows written."""
    schema = arrow_schema(kinds)
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in chunks:
            writer.write_batch(record_batch(chunk, kinds, schema))
            written += len(chunk)
            on_chunk(chunk, written)
    return written


def read_feature_schema(path: Path) -> dict[str, FeatureKind]:
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(FEATURE_SCHEMA_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a trainplat snapshot file (no feature schema)")
    return cast(dict[str, FeatureKind], json.loads(raw))
