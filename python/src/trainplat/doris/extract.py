"""Task program `doris.extract`: copy one half-open time window of feature snapshots out of
the source into `snapshots.parquet` (zstd), parsing the features JSON into typed columns,
with `rejects.jsonl` (rows that do not fit, with the reason) and `manifest.json` beside it.

The source is the embedded SQLite file (`source`) or a MySQL-protocol server (`source_url`:
Doris or MariaDB). Filters and the feature projection run in the source's SQL.

The feature schema is explicit (`feature_schema`: one pass),
inferred from the first `schema_sample_rows` rows (one pass: the sample is kept and
written), or inferred from the whole window (the default: two passes, exact).

Results are cached (`cache_url` / `$TRAINPLAT_CACHE_URL` = Redis, else local disk
`cache_dir`): closed windows for good, open ones (end in the future or within
`cache_settle_s`) for `cache_open_ttl_s`; the `cache` output says `hit`, `miss` or `off`."""

import itertools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from trainplat.doris.cache import (
    DEFAULT_MAX_BYTES,
    CacheError,
    cache_key,
    check_cache_url,
    open_cache,
)
from trainplat.doris.chunk import SnapshotChunk, times_us
from trainplat.doris.keys import validate_feature_key
from trainplat.doris.parse import REJECT_REASONS, ChunkParser, FeatureSchema, SchemaInference
from trainplat.doris.prefetch import prefetched
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import encode_time
from trainplat.doris.snapshot_file import (
    COMPRESSION,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    REJECTS_FILE,
    WriteStats,
    file_sha256,
    write_manifest,
    write_snapshot_file,
)
from trainplat.doris.source import DEFAULT_CHUNK_ROWS
from trainplat.doris.source_args import SourceArgs, open_source, source_identity
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, TaskResult

log = logging.getLogger(__name__)

SNAPSHOTS_FILE = "snapshots.parquet"
# Bump when the bytes extraction writes for the same rows change: old cache entries then miss.
# v2: node_id is text, as in the seed's feature_snapshots (VARCHAR(255)).
# v3: zstd, rejects.jsonl and manifest.json.
# v4: Parquet dictionary encoding for text columns only.
OUTPUT_FORMAT = "trainplat.doris.extract/v4"
# Share of the progress bar spent discovering the feature schema (the first of two passes).
_SCHEMA_PASS_SHARE = 0.2
DEFAULT_OPEN_TTL_S = 60
DEFAULT_SETTLE_S = 300

ReadFunction = Callable[[WindowQuery, int], Iterator[SnapshotChunk]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    feature_schema: list[str] | None = Field(
        None, description="explicit schema: ['key:numeric|categorical[:required]', ...]"
    )
    schema_sample_rows: int | None = Field(None, ge=1, le=100_000_000)
    chunk_rows: int = Field(DEFAULT_CHUNK_ROWS, ge=1, le=1_000_000)
    uuids: list[str] | None = None
    node_ids: list[str] | None = None
    is_tag: bool | None = None
    cache: bool = True
    cache_url: str | None = Field(None, description="redis://host:6379/0 (else local disk)")
    cache_dir: Path | None = None
    cache_max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1)
    cache_open_ttl_s: int = Field(DEFAULT_OPEN_TTL_S, ge=0, le=86_400)
    cache_settle_s: int = Field(DEFAULT_SETTLE_S, ge=0, le=30 * 86_400)

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

    @field_validator("feature_schema")
    @classmethod
    def _schema_parses(cls, items: list[str] | None) -> list[str] | None:
        if items is not None:
            FeatureSchema.parse(items)
        return items

    @field_validator("cache_url")
    @classmethod
    def _cache_url(cls, url: str | None) -> str | None:
        return None if url is None else check_cache_url(url, allow_password=False)

    @field_validator("uuids", "node_ids")
    @classmethod
    def _filter_values(cls, values: list[str] | None) -> list[str] | None:
        if values is not None:
            day = datetime(2000, 1, 1, tzinfo=UTC)
            WindowQuery.build(day, day + timedelta(days=1), uuids=values)  # same checks
        return values

    @model_validator(mode="after")
    def _schema_and_keys_agree(self) -> "ExtractArgs":
        schema_keys(self.feature_schema, self.feature_keys, self.schema_sample_rows)
        return self


def schema_keys(
    feature_schema: Sequence[str] | None,
    feature_keys: Sequence[str] | None,
    schema_sample_rows: int | None,
) -> list[str] | None:
    """The keys to project in SQL: feature_keys (with an explicit schema they must name the
    schema's keys). An explicit schema alone reads whole `features` objects: Arrow's JSON
    reader parses them faster than the server's per-key JSON functions, and keys outside the
    schema are ignored; add feature_keys to push the projection down (narrow schemas of wide
    objects)."""
    if feature_schema is None:
        return list(feature_keys) if feature_keys is not None else None
    if schema_sample_rows is not None:
        raise ValueError("give feature_schema or schema_sample_rows, not both")
    keys = sorted(FeatureSchema.parse(feature_schema).kinds)
    if feature_keys is not None and sorted(set(feature_keys)) != keys:
        raise ValueError("feature_keys must name the same keys as feature_schema (or be omitted)")
    return list(feature_keys) if feature_keys is not None else None


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
    feature_schema: list[str] | None = None,
    schema_sample_rows: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    uuids: list[str] | None = None,
    node_ids: list[str] | None = None,
    is_tag: bool | None = None,
    cache: bool = True,
    cache_url: str | None = None,
    cache_dir: Path | None = None,
    cache_max_bytes: int = DEFAULT_MAX_BYTES,
    cache_open_ttl_s: int = DEFAULT_OPEN_TTL_S,
    cache_settle_s: int = DEFAULT_SETTLE_S,
) -> TaskResult:
    check_window(start, end)
    explicit = FeatureSchema.parse(feature_schema) if feature_schema is not None else None
    query = WindowQuery.build(
        start,
        end,
        uuids=uuids,
        node_ids=node_ids,
        is_tag=is_tag,
        feature_keys=schema_keys(feature_schema, feature_keys, schema_sample_rows),
    )
    output = context.task_dir / SNAPSHOTS_FILE
    store = None
    if cache:
        store = open_cache(cache_url, cache_dir or default_cache_dir(), cache_max_bytes)
    # A window still filling (end in the future or within the settle period) is cached for
    # a while only, under its own key.
    open_window = query.end > datetime.now(UTC) - timedelta(seconds=cache_settle_s)
    ttl = float(cache_open_ttl_s) if open_window else None
    if open_window and cache_open_ttl_s == 0:
        store = None
    identity = source_identity(source, source_url)
    key = cache_key(
        {
            "format": OUTPUT_FORMAT,
            "source": identity,
            "query": query.to_json(),
            "chunk_rows": chunk_rows,  # row groups follow chunks
            "schema": explicit.to_json() if explicit is not None else None,
            "schema_sample_rows": schema_sample_rows,
            "open": open_window,
        }
    )
    cache_errors = 0
    if store is not None:
        try:
            cached = store.get(key, context.task_dir)
        except CacheError as error:
            log.warning("cache lookup failed, extracting without it: %s", error)
            cached, cache_errors = None, 1
        if cached is not None:
            context.report_progress(1.0, f"cache hit: {cached['rows']} rows")
            return _result(context.task_dir, cached, "hit", store.name, cache_errors)

    pool = {
        "pool_size": pool_size,
        "pool_max_overflow": pool_max_overflow,
        "connect_timeout_s": connect_timeout_s,
        "read_timeout_s": read_timeout_s,
    }
    with open_source(source, source_url, password_env, **pool) as snapshots:
        stats, schema, schema_source = _extract(
            context, snapshots.read_chunks, query, output, chunk_rows, explicit, schema_sample_rows
        )
    summary = _summary(output, stats, schema, schema_source, query, identity)
    write_manifest(context.task_dir / MANIFEST_FILE, {"format": MANIFEST_FORMAT, **summary})
    status = "off"
    backend = "none"
    if store is not None:
        status, backend = "miss", store.name
        files = {
            name: context.task_dir / name for name in (SNAPSHOTS_FILE, REJECTS_FILE, MANIFEST_FILE)
        }
        try:
            store.put(key, files, summary, ttl_s=ttl)
        except CacheError as error:
            log.warning("cache store failed: %s", error)
            cache_errors += 1
    context.report_progress(
        1.0,
        f"extracted {stats.rows} rows of {len(stats.entities)} entities"
        f" ({stats.rejected_total} rejected)",
    )
    return _result(context.task_dir, summary, status, backend, cache_errors)


def _extract(
    context: TaskContext,
    read: ReadFunction,
    query: WindowQuery,
    output: Path,
    chunk_rows: int,
    explicit: FeatureSchema | None,
    sample_rows: int | None,
) -> tuple[WriteStats, FeatureSchema, str]:
    requested = list(query.feature_keys) if query.feature_keys is not None else None
    share = 0.0

    def chunks_of_window() -> Iterator[SnapshotChunk]:
        return prefetched(read(query, chunk_rows))

    if explicit is not None:
        schema, source, chunks = explicit, "explicit", chunks_of_window()
    elif sample_rows is not None:
        # One pass: the sample's chunks are kept and written first, then the rest follows.
        chunks = chunks_of_window()
        inference = SchemaInference(requested)
        sample: list[SnapshotChunk] = []
        for chunk in chunks:
            sample.append(chunk)
            inference.add(chunk)
            if inference.rows >= sample_rows:
                break
        schema, source = inference.schema(), "inferred_sample"
        chunks = itertools.chain(sample, chunks)
    else:
        context.report_progress(0.0, "discovering features")
        inference = SchemaInference(requested)
        for chunk in chunks_of_window():
            inference.add(chunk)
            context.report_progress(
                _SCHEMA_PASS_SHARE * _window_position(chunk, query),
                f"{inference.rows} rows scanned",
            )
        schema, source, share = inference.schema(), "inferred_window", _SCHEMA_PASS_SHARE
        chunks = chunks_of_window()
    context.report_progress(share, f"{len(schema.kinds)} features; writing rows")

    def on_chunk(chunk: SnapshotChunk, done: int) -> None:
        position = _window_position(chunk, query)
        context.report_progress(share + (1 - share) * position, f"{done} rows read")

    start_us = _micros(query.start)
    parser = ChunkParser(schema, start_us, _micros(query.end))
    stats = write_snapshot_file(output, chunks, parser, on_chunk)
    return stats, schema, source


def _window_position(chunk: SnapshotChunk, query: WindowQuery) -> float:
    """How far through the window a chunk ends (0..1): rows come in time order, so the last
    row's time measures progress without counting the window first (a COUNT over the
    window costs a scan of its index on every source)."""
    if not len(chunk):
        return 0.0
    times, bad = times_us([chunk.time[-1]])
    if bad:
        return 0.0
    start, end = _micros(query.start), _micros(query.end)
    return min(1.0, max(0.0, (int(times[0]) - start) / (end - start)))


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _time_text(micros: int | None) -> str | None:
    return None if micros is None else encode_time(_EPOCH + timedelta(microseconds=micros))


def _summary(
    output: Path,
    stats: WriteStats,
    schema: FeatureSchema,
    schema_source: str,
    query: WindowQuery,
    identity: dict[str, Any],
) -> dict[str, JsonValue]:
    """The manifest's content (without `format`), also what the cache keeps as outputs."""
    rejected: dict[str, JsonValue] = {reason: stats.rejected[reason] for reason in REJECT_REASONS}
    return {
        "data_file": SNAPSHOTS_FILE,
        "rejects_file": REJECTS_FILE,
        "content_hash": file_sha256(output),
        "bytes": output.stat().st_size,
        "compression": COMPRESSION,
        "rows": stats.rows,
        "rows_read": stats.read,
        "entities": len(stats.entities),
        "time_range": {
            "min": _time_text(stats.time_min_us),
            "max": _time_text(stats.time_max_us),
        },
        "window": {"start": encode_time(query.start), "end": encode_time(query.end)},
        "feature_schema": dict(schema.kinds),
        "required_keys": sorted(schema.required),
        "schema_source": schema_source,
        "query": query.to_json(),
        "source": identity,
        "rejected": rejected,
        "rejected_total": stats.rejected_total,
    }


def _result(
    task_dir: Path, summary: dict[str, Any], cache: str, backend: str, cache_errors: int
) -> TaskResult:
    rejected = {reason: int(summary["rejected"][reason]) for reason in REJECT_REASONS}
    outputs: dict[str, JsonValue] = {
        "snapshots": str((task_dir / SNAPSHOTS_FILE).resolve()),
        "manifest": str((task_dir / MANIFEST_FILE).resolve()),
        "rejects": str((task_dir / REJECTS_FILE).resolve()),
        "content_hash": summary["content_hash"],
        "rows": int(summary["rows"]),
        "entities": int(summary["entities"]),
        "rejected": int(summary["rejected_total"]),
        "rejected_by_reason": {str(reason): count for reason, count in rejected.items()},
        "cache": cache,
        "cache_backend": backend,
    }
    metrics = {
        "rows": float(summary["rows"]),
        "rejected": float(summary["rejected_total"]),
        **{f"rejected_{reason}": float(count) for reason, count in rejected.items()},
        "cache_hit": 1.0 if cache == "hit" else 0.0,
        "cache_miss": 1.0 if cache == "miss" else 0.0,
        "cache_errors": float(cache_errors),
    }
    return TaskResult(outputs=outputs, metrics=metrics)


EXTRACT_PROGRAM = TaskProgram(name="doris.extract", arguments=ExtractArgs, function=extract)
