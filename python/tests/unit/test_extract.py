import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from tests.unit.conftest import T0, SourceFactory, snapshot
from trainplat.doris.extract import ExtractArgs, extract
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
    assert result.metrics == {"rows": 2.0, "cache_hit": 0.0}
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
