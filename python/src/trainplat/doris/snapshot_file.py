"""The `snapshots.parquet` file extraction writes and training-set building reads, its
rejects file and its manifest.

Columns: uuid, node_id, time (UTC timestamp), is_tag, then one column per feature key
(float64 for numeric, string for categorical), zstd-compressed, one row group per chunk. The
feature schema `{key: kind}` is kept in the file's metadata so readers never guess which
columns are features. Rows the parser rejects go to `rejects.jsonl` (one JSON object per
line: reason, detail and the raw row). `manifest.json` describes the pair: row count, time
range, the data file's SHA-256, the feature schema, the query and the reject counts."""

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trainplat.doris.chunk import SnapshotChunk
from trainplat.doris.parse import REJECT_REASONS, ChunkParser, RejectReason
from trainplat.doris.prefetch import InBackground
from trainplat.tasks.result import FeatureKind, JsonValue

FEATURE_SCHEMA_KEY = b"trainplat.feature_schema"
TIME_TYPE = pa.timestamp("us", tz="UTC")
COMPRESSION = "zstd"
REJECTS_FILE = "rejects.jsonl"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "trainplat.doris.snapshots_manifest/v1"


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


@dataclass
class WriteStats:
    rows: int = 0
    read: int = 0  # rows read from the source: rows + rejected
    entities: set[str] = field(default_factory=set)
    time_min_us: int | None = None
    time_max_us: int | None = None
    rejected: dict[RejectReason, int] = field(
        default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0)
    )

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def write_snapshot_file(
    path: Path,
    chunks: Iterable[SnapshotChunk],
    parser: ChunkParser,
    on_chunk: Callable[[SnapshotChunk, int], None],
    rejects_path: Path | None = None,
) -> WriteStats:
    """Write chunk by chunk (memory bounded by one chunk); `on_chunk` gets each chunk and the
    running count of rows read after it. Rejected rows go to `rejects_path` (default
    `rejects.jsonl` beside `path`; always created, empty when nothing was rejected)."""
    schema = arrow_schema(parser.schema.kinds)
    stats = WriteStats()
    rejects_path = rejects_path or path.with_name(REJECTS_FILE)
    # Dictionaries for the text columns only: numeric features rarely repeat enough for one,
    # and building a dictionary that is then abandoned doubled the write time in profiles.
    text_columns = [field.name for field in schema if pa.types.is_string(field.type)]
    with (
        pq.ParquetWriter(
            path, schema, compression=COMPRESSION, use_dictionary=text_columns
        ) as writer,
        rejects_path.open("w", encoding="utf-8") as rejects,
        # The writer compresses one chunk while the next is parsed (both release the GIL).
        InBackground(writer.write_batch, name="snapshot-writer") as batches,
    ):
        for chunk in chunks:
            parsed = parser.parse(chunk)
            for reject in parsed.rejects:
                rejects.write(json.dumps(reject.to_json(), ensure_ascii=False) + "\n")
            columns = list(parsed.columns)
            times = columns[2]
            columns[2] = times.cast(TIME_TYPE)
            if parsed.rows:
                batches.put(pa.RecordBatch.from_arrays(columns, schema=schema))
                bounds = pc.min_max(times)
                low, high = int(bounds["min"].as_py()), int(bounds["max"].as_py())
                if stats.time_min_us is None or low < stats.time_min_us:
                    stats.time_min_us = low
                if stats.time_max_us is None or high > stats.time_max_us:
                    stats.time_max_us = high
            stats.rows += parsed.rows
            stats.read += len(chunk)
            stats.entities.update(pc.unique(parsed.columns[0]).to_pylist())
            on_chunk(chunk, stats.read)
    stats.rejected = dict(parser.counts)
    return stats


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(path: Path, document: dict[str, JsonValue]) -> None:
    """Atomically (temporary file + rename)."""
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staging, path)


def read_manifest(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))


def read_feature_schema(path: Path) -> dict[str, FeatureKind]:
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(FEATURE_SCHEMA_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a trainplat snapshot file (no feature schema)")
    return cast(dict[str, FeatureKind], json.loads(raw))
