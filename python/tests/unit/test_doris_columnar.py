"""The columnar read path: fetched tuples -> chunks without per-row objects, times parsed in
bulk, the reader thread, and extraction without a COUNT."""

import threading
import time
from collections.abc import Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.unit.conftest import T0, SourceFactory, snapshot
from trainplat.doris.chunk import SnapshotChunk, chunk_from_records, times_us
from trainplat.doris.dialects import MariaDbDialect
from trainplat.doris.extract import extract
from trainplat.doris.parse import ChunkParser, FeatureSchema
from trainplat.doris.prefetch import InBackground, prefetched
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.source import SqliteSource
from trainplat.tasks.context import TaskContext

END = datetime(2026, 1, 2, tzinfo=T0.tzinfo)


def test_projection_rebuilds_objects_and_passes_invalid_text_on() -> None:
    records = [
        ("u1", "1", "t", 1, "t", "1.5", '"x"', None),
        ("u2", "2", "t", 0, "t", None, None, None),  # both keys absent
        ("u3", 3, "t", 0, "t", b"[1,2]", None, None),  # bytes from the driver, int node id
        ("u4", "4", "t", 0, "t", None, None, "{not json"),  # not an object: raw text
    ]

    chunk = chunk_from_records(records, ["a", "b"], str)

    assert chunk.features.to_pylist() == ['{"a":1.5,"b":"x"}', "{}", '{"a":[1,2]}', "{not json"]
    assert chunk.node_id.to_pylist() == ["1", "2", "3", "4"]
    assert chunk.is_tag.to_pylist() == [True, False, False, False]


def test_times_parse_in_bulk_and_flag_bad_values() -> None:
    utc_text = ["2026-01-01T00:00:01.000000Z", "2026-01-01T02:00:00+02:00"]
    server_text = ["2026-01-01 00:00:01.000000", "2026-01-01 00:00:00"]

    base = int(T0.timestamp()) * 1_000_000

    assert (times_us(utc_text)[0] - base).tolist() == [1_000_000, 0]
    assert (times_us(server_text)[0] - base).tolist() == [1_000_000, 0]
    assert (times_us([datetime(2026, 1, 1, 0, 0, 2)])[0] - base).tolist() == [2_000_000]

    values, bad = times_us(["2026-01-01T00:00:03.000000Z", "garbage", 17])
    # check: the good value keeps its time (the chunk fell back to one value at a time)
    assert values[0] - base == 3_000_000
    assert bad == [1, 2]


def _epoch_us(text: str) -> int:
    return int(times_us([text])[0][0])


def test_chunk_rows_round_trip() -> None:
    rows = [snapshot("a", 1, {"x": 1}), snapshot("b", 2, {"y": "z"}, node_id=7)]

    chunk = SnapshotChunk.from_rows(rows)

    assert chunk.rows() == rows
    assert chunk.take([1]).rows() == rows[1:]
    assert chunk.row(0) == rows[0]
    assert _epoch_us(rows[0].time) - _epoch_us("2026-01-01T00:00:00Z") == 1_000_000


def test_prefetched_keeps_order_and_raises_the_readers_error() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("source failed")

    seen: list[int] = []
    with pytest.raises(LookupError, match="source failed"):
        seen.extend(prefetched(items()))
    assert seen == [1, 2]


def test_prefetched_stops_and_closes_the_reader_when_the_consumer_stops() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def items() -> Iterator[int]:
        try:
            for value in range(1000):
                produced.append(value)
                yield value
        finally:
            closed.set()

    stream = prefetched(items(), depth=1)
    assert next(stream) == 0
    assert isinstance(stream, Generator)
    stream.close()

    assert closed.is_set()
    # check: bounded read-ahead, not the whole source
    assert len(produced) <= 4


def test_in_background_calls_in_order_on_another_thread_and_waits_at_exit() -> None:
    called: list[tuple[int, str]] = []

    def slow(item: int) -> None:
        time.sleep(0.01)  # still at work when the last put returns
        called.append((item, threading.current_thread().name))

    with InBackground(slow, name="writer") as background:
        for item in range(5):
            background.put(item)

    assert called == [(item, "writer") for item in range(5)]


def test_in_background_raises_the_first_error_and_calls_nothing_after_it() -> None:
    called: list[int] = []

    def fails_on_two(item: int) -> None:
        if item == 2:
            raise OSError("disk full")
        called.append(item)

    def put_fifty() -> None:
        with InBackground(fails_on_two) as background:
            for item in range(50):
                background.put(item)

    with pytest.raises(OSError, match="disk full"):
        put_fifty()
    assert called == [0, 1]


def test_in_background_lets_the_callers_own_error_through() -> None:
    def ignore(_: int) -> None:
        pass

    def fail_while_putting() -> None:
        with InBackground(ignore) as background:
            background.put(1)
            raise KeyError("parse failed")

    with pytest.raises(KeyError, match="parse failed"):
        fail_while_putting()


class _Recording(SqliteSource):
    """Keeps every statement the extraction sends."""

    statements: list[str] = []  # noqa: RUF012 (replaced per instance in the test)

    def fetch_chunk(self, sql: str, params: Any, feature_keys: Any) -> SnapshotChunk:
        self.statements.append(sql)
        return super().fetch_chunk(sql, params, feature_keys)


def test_extract_sends_no_count_and_reports_progress_by_time(
    context: TaskContext, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_source([snapshot(f"e{i}", i * 3600, {"x": i}) for i in range(10)])
    recording = _Recording.open_existing(path)
    assert isinstance(recording, _Recording)
    recording.statements = []
    monkeypatch.setattr("trainplat.doris.extract.open_source", lambda *_, **__: recording)

    result = extract(context, source=Path(path), start=T0, end=END, chunk_rows=3, cache=False)

    assert result.outputs["rows"] == 10
    assert recording.statements
    assert not any("COUNT(" in sql.upper() for sql in recording.statements)
    table = pq.read_table(str(result.outputs["snapshots"]))
    assert table.column("x").to_pylist() == [float(i) for i in range(10)]


def test_server_time_columns_are_fetched_as_text_but_ordered_by_column() -> None:
    sql, _ = MariaDbDialect().select_chunk(WindowQuery.build(T0, END), None, 10)

    select = sql.split(" FROM ", 1)[0]
    assert "CAST(`time` AS CHAR)" in select
    assert "CAST(`created_at` AS CHAR)" in select
    # No alias: ORDER BY names the DATETIME column, so its index serves the order.
    assert " AS `time`" not in sql
    assert sql.endswith("ORDER BY `time`, `uuid`, `node_id` LIMIT 10")


def test_values_with_line_breaks_are_parsed_one_row_each() -> None:
    # A pretty-printed object spans lines; two objects in one value plus an empty value
    # would hold as many lines as rows: each must still be judged as its own row.
    rows = [
        snapshot("pretty", 1, {}),
        snapshot("two", 2, {}),
        snapshot("empty", 3, {}),
        snapshot("crlf", 4, {}),
    ]
    texts = ['{\n  "x": 1\n}', '{"x": 2}\n{"x": 3}', "", '{"x":\r4}']
    chunk = SnapshotChunk.from_rows(
        [
            SnapshotRow(row.uuid, row.node_id, row.time, text, False, row.created_at)
            for row, text in zip(rows, texts, strict=True)
        ]
    )
    parser = ChunkParser(FeatureSchema.parse(["x:numeric"]), 0, 2**62)

    parsed = parser.parse(chunk)

    assert parsed.columns[0].to_pylist() == ["pretty", "crlf"]
    assert parsed.columns[4].to_pylist() == [1.0, 4.0]
    assert sorted(reject.row.uuid for reject in parsed.rejects) == ["empty", "two"]
    assert {reject.reason for reject in parsed.rejects} == {"malformed_json"}


def test_fast_path_parses_in_blocks_and_keeps_a_long_line_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrow's reader parses the chunk in blocks (a share of the document each); a line longer
    # than a share must still fit one block, or the whole chunk would fall to the slow path.
    rows = [snapshot(f"u{i:03d}", i, {"x": i, "c": f"v{i}"}) for i in range(400)]
    rows.insert(200, snapshot("long", 200.5, {"x": 1.5, "c": "z" * 100_000}))
    chunk = SnapshotChunk.from_rows(rows)
    parser = ChunkParser(FeatureSchema.parse(["c:categorical", "x:numeric"]), 0, 2**62)
    exact = parser._parse_slow(chunk)

    def no_slow_path(*_: object) -> None:
        raise AssertionError("the chunk left the fast path")

    monkeypatch.setattr(ChunkParser, "_parse_slow", no_slow_path)
    parsed = parser.parse(chunk)

    assert parsed.rows == 401
    assert [column.to_pylist() for column in parsed.columns] == [
        column.to_pylist() for column in exact.columns
    ]
    assert parsed.columns[4][200].as_py() == "z" * 100_000


def test_fast_path_schema_follows_the_first_rows_key_order_and_values_stay_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrow's reader is a third faster when its schema lists keys in the rows' order; the
    # order must not change a value, whatever order (or subset) the other rows use.
    schema = FeatureSchema.parse(["a:numeric", "b:categorical", "c:numeric", "d:categorical"])
    features = [
        {"c": 1, "extra": 0, "a": 2.5, "b": "x"},  # d absent, an unknown key
        {"a": 3, "b": "y", "c": 4, "d": "z"},
        {"d": "w", "c": 5.5},
        {"b": "v", "a": -1, "d": "u", "c": 0},
    ]
    chunk = SnapshotChunk.from_rows([snapshot(f"u{i}", i, f) for i, f in enumerate(features)])
    parser = ChunkParser(schema, 0, 2**62)
    exact = parser._parse_slow(chunk)

    def no_slow_path(*_: object) -> None:
        raise AssertionError("the chunk left the fast path")

    monkeypatch.setattr(ChunkParser, "_parse_slow", no_slow_path)
    parsed = parser.parse(chunk)

    assert parser._schema_in_order_of(chunk.features).names == ["c", "a", "b", "d"]
    assert [column.to_pylist() for column in parsed.columns] == [
        column.to_pylist() for column in exact.columns
    ]
    assert parsed.columns[4].to_pylist() == [2.5, 3.0, None, -1.0]  # a, in schema order
