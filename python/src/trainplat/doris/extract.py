"""Task program `doris.extract`: copy one half-open time window of feature snapshots out of
the source into `snapshots.parquet`, parsing the features JSON into typed columns."""

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from trainplat.doris.parse import discover_feature_schema
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.snapshot_file import write_snapshot_file
from trainplat.doris.source import DEFAULT_CHUNK_ROWS, SqliteSource
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import TaskResult

SNAPSHOTS_FILE = "snapshots.parquet"
# Share of the progress bar spent discovering the feature schema (the first of two passes).
_SCHEMA_PASS_SHARE = 0.2


def check_window(start: datetime, end: datetime) -> None:
    if start >= end:
        raise ValueError(f"empty window: start {start.isoformat()} is not before end")


class ExtractArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Path = Field(description="path of the SQLite file holding feature_snapshots")
    start: AwareDatetime
    end: AwareDatetime
    feature_keys: list[str] | None = None
    chunk_rows: int = Field(DEFAULT_CHUNK_ROWS, ge=1)

    @field_validator("source")
    @classmethod
    def _source_is_usable(cls, source: Path) -> Path:
        SqliteSource.open_existing(source).close()
        return source

    @field_validator("end")
    @classmethod
    def _window_not_empty(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None:
            check_window(start, end)
        return end


def extract(
    context: TaskContext,
    *,
    source: Path,
    start: datetime,
    end: datetime,
    feature_keys: list[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> TaskResult:
    check_window(start, end)
    output = context.task_dir / SNAPSHOTS_FILE
    with SqliteSource.open_existing(source) as snapshots:
        total = snapshots.count_window(start, end)
        context.report_progress(0.0, f"discovering features of {total} rows")
        kinds = discover_feature_schema(snapshots.read_window(start, end, chunk_rows), feature_keys)
        context.report_progress(_SCHEMA_PASS_SHARE, f"{len(kinds)} features; writing rows")
        entities: set[str] = set()

        def on_chunk(chunk: Sequence[SnapshotRow], written: int) -> None:
            entities.update(row.uuid for row in chunk)
            share = written / total if total else 1.0
            fraction = _SCHEMA_PASS_SHARE + (1 - _SCHEMA_PASS_SHARE) * share
            context.report_progress(fraction, f"{written}/{total} rows written")

        rows = write_snapshot_file(
            output, snapshots.read_window(start, end, chunk_rows), kinds, on_chunk
        )
    context.report_progress(1.0, f"extracted {rows} rows of {len(entities)} entities")
    return TaskResult(
        outputs={"snapshots": str(output.resolve()), "rows": rows, "entities": len(entities)},
        metrics={"rows": float(rows)},
    )


EXTRACT_PROGRAM = TaskProgram(name="doris.extract", arguments=ExtractArgs, function=extract)
