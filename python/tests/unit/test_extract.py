import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from tests.unit.conftest import T0, SourceFactory, new_context, snapshot
from trainplat.doris.extract import ExtractArgs, extract
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.snapshot_file import read_feature_schema
from trainplat.tasks.context import TaskContext

DAY_END = datetime(2026, 1, 2, tzinfo=UTC)


def test_extract_window_is_half_open(context: TaskContext, make_source: SourceFactory) -> None:
    source = make_source(
        [
            snapshot("before", -1, {"x": 0}),
            snapshot("at-start", 0, {"x": 1}),
            snapshot("inside", 3600, {"x": 2}),
            snapshot("at-end", 86400, {"x": 3}),
        ]
    )

    result = extract(context, source=source, start=T0, end=DAY_END)

    table = pq.read_table(result.outputs["snapshots"])
    assert table.column("uuid").to_pylist() == ["at-start", "inside"]
    assert result.outputs["rows"] == 2
    assert result.metrics["rows"] == 2.0
    assert result.metrics["cache_hit"] == result.metrics["cache_miss"] == 0.0
    assert result.metrics["rejected"] == 0.0
    assert result.outputs["cache"] == "off"


def test_extract_parses_features_into_typed_columns(
    context: TaskContext, make_source: SourceFactory
) -> None:
    source = make_source(
        [
            snapshot("a", 1, {"amount": 3, "city": "x", "flag": True}, is_tag=True, node_id=7),
            snapshot("a", 2, {"amount": 2.5, "mixed": 1}),
            snapshot("b", 3, {"city": "y", "mixed": "one"}),
        ]
    )

    result = extract(context, source=source, start=T0, end=DAY_END)

    path = Path(str(result.outputs["snapshots"]))
    rows = pq.read_table(path).to_pylist()
    assert read_feature_schema(path) == {
        "amount": "numeric",
        "city": "categorical",
        "flag": "numeric",
        "mixed": "categorical",
    }
    assert rows[0]["amount"] == 3.0
    assert rows[0]["flag"] == 1.0
    assert rows[0]["is_tag"] is True
    assert rows[0]["node_id"] == "7"
    assert rows[0]["time"] == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert [row["mixed"] for row in rows] == [None, "1", "one"]
    assert rows[2]["amount"] is None
    assert result.outputs["entities"] == 2


def test_extract_in_chunks_matches_one_chunk(tmp_path: Path, make_source: SourceFactory) -> None:
    rows = [snapshot(f"e{i % 4}", i * 60, {"x": i, "c": f"v{i % 3}"}) for i in range(25)]
    rows.append(snapshot("late", 70, {"only_late": "z"}))  # a key first seen in a later chunk
    source = make_source(rows)
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()

    chunked = extract(
        TaskContext(task_dir=small), source=source, start=T0, end=DAY_END, chunk_rows=3
    )
    whole = extract(TaskContext(task_dir=large), source=source, start=T0, end=DAY_END)

    chunked_table = pq.read_table(str(chunked.outputs["snapshots"]))
    assert chunked_table.equals(pq.read_table(str(whole.outputs["snapshots"])))
    assert pq.ParquetFile(str(chunked.outputs["snapshots"])).metadata.num_row_groups == 9
    assert "only_late" in chunked_table.column_names
    assert json.loads((small / "progress.json").read_text())["fraction"] == 1.0


def test_extract_feature_keys_selects_columns(
    context: TaskContext, make_source: SourceFactory
) -> None:
    source = make_source([snapshot("a", 1, {"x": 1, "y": "q", "z": 2})])

    result = extract(context, source=source, start=T0, end=DAY_END, feature_keys=["x", "absent"])

    path = Path(str(result.outputs["snapshots"]))
    assert read_feature_schema(path) == {"absent": "numeric", "x": "numeric"}
    assert pq.read_table(path).column("absent").to_pylist() == [None]


def test_extract_rejects_empty_window(context: TaskContext, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])

    with pytest.raises(ValueError, match="empty window"):
        extract(context, source=source, start=DAY_END, end=T0)


def test_extract_args_name_the_bad_field(make_source: SourceFactory, tmp_path: Path) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])
    good = {"source": str(source), "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}

    with pytest.raises(ValidationError, match="end") as equal:
        ExtractArgs.model_validate({**good, "end": good["start"]})
    with pytest.raises(ValidationError, match="timezone"):
        ExtractArgs.model_validate({**good, "start": "2026-01-01T00:00:00"})
    with pytest.raises(ValidationError, match="does not exist"):
        ExtractArgs.model_validate({**good, "source": str(tmp_path / "missing.sqlite")})
    assert equal.value.errors()[0]["loc"] == ("end",)


def test_extract_args_reject_file_without_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()

    with pytest.raises(ValidationError, match="no table feature_snapshots"):
        ExtractArgs.model_validate(
            {"source": str(path), "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
        )


def _raw(uuid: str, seconds: float, features: str, time: str | None = None) -> SnapshotRow:
    row = snapshot(uuid, seconds, {})
    return SnapshotRow(
        uuid=row.uuid,
        node_id=row.node_id,
        time=time or row.time,
        features=features,
        is_tag=False,
        created_at=row.created_at,
    )


BAD_ROWS = [
    _raw("malformed", 10, "{not json"),
    _raw("array", 11, "[1, 2]"),
    _raw("badtime", 12, '{"x": 1, "label": 1}', time="2026-01-01T99:00:00.000000Z"),
    _raw("conflict", 13, '{"x": "seven", "label": 1}'),
    _raw("nan", 14, '{"x": NaN, "label": 1}'),
    _raw("inf", 15, '{"x": -Infinity, "label": 1}'),
    _raw("huge", 16, '{"x": 1e999, "label": 1}'),
    _raw("missing", 17, '{"x": 1}'),
    _raw("nulllabel", 18, '{"x": 1, "label": null}'),
]
GOOD_ROWS = [
    snapshot("good", 1, {"x": 1, "label": 0, "city": "a", "extra": 1}),
    snapshot("good", 2, {"x": True, "label": 1, "city": 5}),
]


@pytest.mark.parametrize("chunk_rows", [1, 4, 100])
def test_explicit_schema_rejects_rows_per_reason(
    tmp_path: Path, make_source: SourceFactory, chunk_rows: int
) -> None:
    source = make_source(GOOD_ROWS + BAD_ROWS)
    context = new_context(tmp_path, "task")

    result = extract(
        context,
        source=source,
        start=T0,
        end=DAY_END,
        chunk_rows=chunk_rows,
        feature_schema=["x:numeric", "label:numeric:required", "city:categorical"],
    )

    assert result.outputs["rows"] == 2
    assert result.outputs["rejected"] == len(BAD_ROWS)
    assert result.outputs["rejected_by_reason"] == {
        "malformed_json": 2,
        "bad_timestamp": 1,
        "type_conflict": 1,
        "non_finite": 3,
        "missing_key": 2,
        "unknown_key": 0,
    }
    assert result.metrics["rejected_non_finite"] == 3.0
    rejects = [json.loads(line) for line in (context.task_dir / "rejects.jsonl").open()]
    assert sorted(r["uuid"] for r in rejects) == sorted(r.uuid for r in BAD_ROWS)
    by_uuid = {r["uuid"]: r for r in rejects}
    assert by_uuid["malformed"]["features"] == "{not json"
    assert by_uuid["conflict"]["reason"] == "type_conflict"
    assert "x" in by_uuid["conflict"]["detail"]
    table = pq.read_table(str(result.outputs["snapshots"]))
    assert table.column_names == ["uuid", "node_id", "time", "is_tag", "city", "label", "x"]
    assert table.column("city").to_pylist() == ["a", "5"]
    assert table.column("x").to_pylist() == [1.0, 1.0]


def test_inferred_schema_never_crashes_on_bad_rows(
    context: TaskContext, make_source: SourceFactory
) -> None:
    source = make_source(GOOD_ROWS + BAD_ROWS)

    result = extract(context, source=source, start=T0, end=DAY_END, chunk_rows=3)

    counts = result.outputs["rejected_by_reason"]
    assert isinstance(counts, dict)
    assert counts["malformed_json"] == 2
    assert counts["bad_timestamp"] == 1
    assert counts["non_finite"] == 3
    assert counts["type_conflict"] == 0  # x seen as text and number: categorical
    assert int(str(result.outputs["rows"])) + int(str(result.outputs["rejected"])) == 11


def test_sampled_schema_rejects_keys_seen_only_later(
    context: TaskContext, make_source: SourceFactory
) -> None:
    rows = [snapshot(f"e{i}", i, {"x": i}) for i in range(10)]
    rows.append(snapshot("late", 20, {"x": 1, "late_key": "v"}))
    rows.append(snapshot("late2", 21, {"x": "text"}))
    source = make_source(rows)

    result = extract(
        context, source=source, start=T0, end=DAY_END, chunk_rows=4, schema_sample_rows=4
    )

    assert result.outputs["rows"] == 10
    assert result.outputs["rejected_by_reason"] == {
        "malformed_json": 0,
        "bad_timestamp": 0,
        "type_conflict": 1,
        "non_finite": 0,
        "missing_key": 0,
        "unknown_key": 1,
    }
    manifest = json.loads((context.task_dir / "manifest.json").read_text())
    assert manifest["schema_source"] == "inferred_sample"


def test_explicit_schema_projection_reports_malformed_rows(
    context: TaskContext, make_source: SourceFactory
) -> None:
    # With a schema the keys are extracted in SQL; malformed text must not fail the query.
    source = make_source([snapshot("good", 1, {"x": 2}), *BAD_ROWS[:2]])

    result = extract(
        context,
        source=source,
        start=T0,
        end=DAY_END,
        feature_schema=["x:numeric"],
        feature_keys=["x"],
    )

    assert result.outputs["rows"] == 1
    rejects = [json.loads(line) for line in (context.task_dir / "rejects.jsonl").open()]
    assert {r["features"] for r in rejects} == {"{not json", "[1, 2]"}


def test_manifest_and_zstd(context: TaskContext, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 5, {"x": 1}), snapshot("b", 3600, {"x": 2, "c": "q"})])

    result = extract(context, source=source, start=T0, end=DAY_END, feature_keys=["x", "c"])

    manifest_path = Path(str(result.outputs["manifest"]))
    manifest = json.loads(manifest_path.read_text())
    data = Path(str(result.outputs["snapshots"]))
    assert manifest_path.parent == data.parent
    assert manifest["content_hash"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert manifest["content_hash"] == result.outputs["content_hash"]
    assert manifest["rows"] == 2
    assert manifest["time_range"] == {
        "min": "2026-01-01T00:00:05.000000Z",
        "max": "2026-01-01T01:00:00.000000Z",
    }
    assert manifest["feature_schema"] == {"c": "categorical", "x": "numeric"}
    assert manifest["query"]["feature_keys"] == ["c", "x"]
    assert manifest["rejected_total"] == 0
    column = pq.ParquetFile(data).metadata.row_group(0).column(0)
    assert column.compression == "ZSTD"


def test_feature_schema_argument_is_checked(make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])
    good = {"source": str(source), "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}

    with pytest.raises(ValidationError, match="numeric\\|categorical"):
        ExtractArgs.model_validate({**good, "feature_schema": ["x:number"]})
    with pytest.raises(ValidationError, match="dot"):
        ExtractArgs.model_validate({**good, "feature_schema": ["a.b:numeric"]})
    with pytest.raises(ValidationError, match="same keys"):
        ExtractArgs.model_validate({**good, "feature_schema": ["x:numeric"], "feature_keys": ["y"]})
    with pytest.raises(ValidationError, match="collide"):
        ExtractArgs.model_validate({**good, "feature_schema": ["uuid:categorical"]})
    args = ExtractArgs.model_validate({**good, "feature_schema": ["x:numeric:required"]})
    assert args.feature_schema == ["x:numeric:required"]
