"""Task program `doris.extract`: copy one half-open time window of feature snapshots out of
the source into `snapshots.parquet`, parsing the features JSON into typed columns.

The source is the embedded SQLite file (`source`) or a MySQL-protocol server (`source_url`:
Doris or MariaDB). Filters and the feature projection run in the source's SQL. Results of
closed windows are cached on local disk (`cache_dir`), so a repeated extraction skips the
query; the `cache` output says `hit`, `miss` or `off`."""

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from trainplat.doris.cache import DEFAULT_MAX_BYTES, ExtractCache, cache_key
from trainplat.doris.keys import validate_feature_key
from trainplat.doris.parse import discover_feature_schema
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.snapshot_file import write_snapshot_file
from trainplat.doris.source import DEFAULT_CHUNK_ROWS
from trainplat.doris.source_args import SourceArgs, open_source, source_identity
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, TaskResult

SNAPSHOTS_FILE = "snapshots.parquet"
# Bump when the bytes extraction writes for the same rows change: old cache entries then miss.
# v2: node_id is text, as in the seed's feature_snapshots (VARCHAR(255)).
OUTPUT_FORMAT = "trainplat.doris.extract/v2"
# Share of the progress bar spent discovering the feature schema (the first of two passes).
_SCHEMA_PASS_SHARE = 0.2

ReadFunction = Callable[[WindowQuery, int], Iterator[list[SnapshotRow]]]


def check_window(start: datetime, end: datetime) -> None:
    if start >= end:
        raise ValueError(f"empty window: start {start.isoformat()} is not before end")


def default_cache_dir() -> Path | None:
    """`TRAINPLAT_CACHE_DIR`, else `$TRAINPLAT_DATA_DIR/cache/doris-extract`, else none."""
    if explicit := os.environ.get("TRAINPLAT_CACHE_DIR"):
        return Path(explicit) / "doris-extract"
    if data_dir := os.environ.get("TRAINPLAT_DATA_DIR"):
        return Path(data_dir) / "cache" / "doris-extract"
    return None


class ExtractArgs(SourceArgs):
    start: AwareDatetime
    end: AwareDatetime
    feature_keys: list[str] | None = None
    chunk_rows: int = Field(DEFAULT_CHUNK_ROWS, ge=1, le=1_000_000)
    uuids: list[str] | None = None
    node_ids: list[str] | None = None
    is_tag: bool | None = None
    cache: bool = True
    cache_dir: Path | None = None
    cache_max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1)

    @field_validator("end")
    @classmethod
    def _window_not_empty(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None:
            check_window(start, end)
        return end

    @field_validator("feature_keys")
    @classmethod
    def _keys_allowed(cls, keys: list[str] | None) -> list[str] | None:
        for key in keys or ():
            validate_feature_key(key)
        return keys

    @field_validator("uuids", "node_ids")
    @classmethod
    def _filter_values(cls, values: list[str] | None) -> list[str] | None:
        if values is not None:
            day = datetime(2000, 1, 1, tzinfo=UTC)
            WindowQuery.build(day, day + timedelta(days=1), uuids=values)  # same checks
        return values


def extract(
    context: TaskContext,
    *,
    source: Path | None = None,
    source_url: str | None = None,
    password_env: str | None = None,
    pool_size: int = 4,
    pool_max_overflow: int = 4,
    connect_timeout_s: int = 10,
    read_timeout_s: int = 300,
    start: datetime,
    end: datetime,
    feature_keys: list[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    uuids: list[str] | None = None,
    node_ids: list[str] | None = None,
    is_tag: bool | None = None,
    cache: bool = True,
    cache_dir: Path | None = None,
    cache_max_bytes: int = DEFAULT_MAX_BYTES,
) -> TaskResult:
    check_window(start, end)
    query = WindowQuery.build(
        start, end, uuids=uuids, node_ids=node_ids, is_tag=is_tag, feature_keys=feature_keys
    )
    output = context.task_dir / SNAPSHOTS_FILE
    cache_dir = cache_dir or default_cache_dir()
    store = ExtractCache(cache_dir, cache_max_bytes) if cache and cache_dir else None
    # An open window (end in the future) still receives rows: never cached.
    closed = query.end <= datetime.now(UTC)
    key = None
    if store is not None and closed:
        key = cache_key(
            {
                "format": OUTPUT_FORMAT,
                "source": source_identity(source, source_url),
                "query": query.to_json(),
                "chunk_rows": chunk_rows,  # row groups follow chunks
            }
        )
        cached = store.get(key, output)
        if cached is not None:
            context.report_progress(1.0, f"cache hit: {cached['rows']} rows")
            return _result(output, int(cached["rows"]), int(cached["entities"]), "hit")

    pool = {
        "pool_size": pool_size,
        "pool_max_overflow": pool_max_overflow,
        "connect_timeout_s": connect_timeout_s,
        "read_timeout_s": read_timeout_s,
    }
    with open_source(source, source_url, password_env, **pool) as snapshots:
        total = snapshots.count(query)
        rows, entities = _extract(context, total, snapshots.read, query, output, chunk_rows)
    status = "off"
    if store is not None:
        status = "miss"
        if key is not None:
            store.put(key, output, {"rows": rows, "entities": entities})
    context.report_progress(1.0, f"extracted {rows} rows of {entities} entities")
    return _result(output, rows, entities, status)


def _extract(
    context: TaskContext,
    total: int,
    read: ReadFunction,
    query: WindowQuery,
    output: Path,
    chunk_rows: int,
) -> tuple[int, int]:
    context.report_progress(0.0, f"discovering features of {total} rows")
    seen = 0

    def discovery_chunks() -> Iterator[list[SnapshotRow]]:
        nonlocal seen
        for chunk in read(query, chunk_rows):
            yield chunk
            seen += len(chunk)
            share = seen / total if total else 1.0
            context.report_progress(_SCHEMA_PASS_SHARE * share, f"{seen}/{total} rows scanned")

    requested = list(query.feature_keys) if query.feature_keys is not None else None
    kinds = discover_feature_schema(discovery_chunks(), requested)
    context.report_progress(_SCHEMA_PASS_SHARE, f"{len(kinds)} features; writing rows")
    entities: set[str] = set()

    def on_chunk(chunk: Sequence[SnapshotRow], written: int) -> None:
        entities.update(row.uuid for row in chunk)
        share = written / total if total else 1.0
        fraction = _SCHEMA_PASS_SHARE + (1 - _SCHEMA_PASS_SHARE) * share
        context.report_progress(fraction, f"{written}/{total} rows written")

    rows = write_snapshot_file(output, read(query, chunk_rows), kinds, on_chunk)
    return rows, len(entities)


def _result(output: Path, rows: int, entities: int, cache: str) -> TaskResult:
    outputs: dict[str, JsonValue] = {
        "snapshots": str(output.resolve()),
        "rows": rows,
        "entities": entities,
        "cache": cache,
    }
    return TaskResult(
        outputs=outputs,
        metrics={"rows": float(rows), "cache_hit": 1.0 if cache == "hit" else 0.0},
    )


EXTRACT_PROGRAM = TaskProgram(name="doris.extract", arguments=ExtractArgs, function=extract)
