"""Reading windows through the `Source` base class on the embedded SQLite source: keyset
chunks, filters, projection, hostile values."""

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.conftest import T0, SourceFactory, new_context, snapshot
from trainplat.doris.extract import extract
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.source import SqliteSource

END = T0 + timedelta(days=1)
HOSTILE = ["'; DROP TABLE feature_snapshots; --", "a'b", 'x"y', "ü-ß", "😀", "\\", "%s", "?"]


def read_all(path: Path, query: WindowQuery, chunk_rows: int) -> list[list[SnapshotRow]]:
    with SqliteSource.open_existing(path) as source:
        return list(source.read(query, chunk_rows))


def test_chunks_cross_equal_times_and_duplicate_keys(make_source: SourceFactory) -> None:
    # setup: many rows at one instant, and keys repeated (Doris' duplicate model allows it)
    rows = [snapshot(f"u{i % 5}", 10, {"i": i}, node_id=i % 2) for i in range(20)]
    rows += [snapshot("u1", 10, {"dup": k}, node_id=1) for k in range(3)]
    rows += [snapshot("z", 30, {"i": 99})]
    path = make_source(rows)
    query = WindowQuery.build(T0, END)

    whole = [row for chunk in read_all(path, query, 1000) for row in chunk]
    for size in (1, 2, 3, 7):
        chunks = read_all(path, query, size)
        flat = [row for chunk in chunks for row in chunk]
        # check: same rows, each once, in key order
        assert sorted(flat, key=repr) == sorted(whole, key=repr), size
        keys = [(row.time, row.uuid, row.node_id) for row in flat]
        assert keys == sorted(keys)
    assert len(whole) == 24


def test_filters_and_projection(make_source: SourceFactory) -> None:
    path = make_source(
        [
            snapshot("a", 1, {"x": 1, "y": "q", "z": [1]}, is_tag=True, node_id=7),
            snapshot("b", 2, {"x": 2.5}, node_id=8),
            snapshot("c", 3, {"y": "r"}, is_tag=True, node_id=8),
        ]
    )
    query = WindowQuery.build(
        T0, END, node_ids=["8", "7"], is_tag=True, uuids=["a", "c"], feature_keys=["y", "z"]
    )

    (rows,) = read_all(path, query, 10)

    assert [row.uuid for row in rows] == ["a", "c"]
    assert [json.loads(row.features) for row in rows] == [{"y": "q", "z": [1]}, {"y": "r"}]
    assert [row.node_id for row in rows] == ["7", "8"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_bound(make_source: SourceFactory, value: str) -> None:
    path = make_source([snapshot(value, 1, {"x": 1}), snapshot("other", 2, {"x": 2})])

    (rows,) = read_all(path, WindowQuery.build(T0, END, uuids=[value]), 10)

    assert [row.uuid for row in rows] == [value]
    with SqliteSource.open_existing(path) as source:
        assert source.count(WindowQuery.build(T0, END)) == 2


def test_legacy_integer_node_ids_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE feature_snapshots (uuid TEXT NOT NULL, node_id INTEGER NOT NULL, "
        "time TEXT NOT NULL, features TEXT NOT NULL, is_tag INTEGER NOT NULL, "
        "created_at TEXT NOT NULL)"
    )
    row = snapshot("a", 1, {"x": 1}, node_id=3)
    connection.execute(
        "INSERT INTO feature_snapshots VALUES (?, ?, ?, ?, ?, ?)",
        (row.uuid, 3, row.time, row.features, 0, row.created_at),
    )
    connection.commit()
    connection.close()

    (rows,) = read_all(path, WindowQuery.build(T0, END, node_ids=["3"]), 10)

    assert rows[0].node_id == "3"


def test_later_chunks_cost_sqlite_no_more_than_the_first(make_source: SourceFactory) -> None:
    # setup: 20 chunks; SQLite's virtual-machine steps per chunk measure how much of the
    # index each chunk's statements walk (a chunk that starts its range scan at the window's
    # start walks every earlier row again: quadratic in the window's size). Through sqlite3,
    # whose progress handler sees the statements (ADBC's connection would count nothing);
    # both run the same SQL.
    path = make_source([snapshot(f"u{i % 7}", i, {"i": i}) for i in range(2000)])
    steps = [0]

    def count_step() -> int:
        steps[0] += 1
        return 0

    costs = []
    with _sqlite3_only(path) as source:
        source._connection.set_progress_handler(count_step, 10)
        for _chunk in source.read_chunks(WindowQuery.build(T0, END), 100):
            costs.append(steps[0])
            steps[0] = 0

    assert len(costs) == 20
    assert costs[0] > 0, costs
    assert max(costs) <= 2 * costs[0], costs


def _rows_with_bad_ones(count: int) -> list[SnapshotRow]:
    """`count` good rows (a key appearing only late, equal keys, hostile ids) with rows the
    parser rejects mixed in: malformed text, a non-object, a bad time, NaN, a type conflict."""
    rows = [
        snapshot(HOSTILE[i % len(HOSTILE)], i // 3, {"x": i, "c": f"v{i % 5}"}, node_id=i % 2)
        for i in range(count)
    ]
    rows.append(snapshot("late", count, {"x": 1, "late_key": "only here"}))
    bad = {"malformed": "{not json", "array": "[1, 2]", "nan": '{"x": NaN}', "text": '{"x": "t"}'}
    for offset, (uuid, features) in enumerate(bad.items()):
        row = snapshot(uuid, count + offset, {})
        rows.append(
            SnapshotRow(row.uuid, row.node_id, row.time, features, row.is_tag, row.created_at)
        )
    late = snapshot("badtime", count, {"x": 1})
    rows.append(
        SnapshotRow("badtime", "1", "2026-01-01T99:00:00Z", late.features, False, late.time)
    )
    return rows


def _sqlite3_only(path: Path) -> SqliteSource:
    """The source as it read before ADBC: every statement through sqlite3."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return SqliteSource(connection, path)


@pytest.mark.parametrize("feature_keys", [None, ["c", "late_key", "x"]])
@pytest.mark.parametrize("chunk_rows", [7, 1500, 10_000])
def test_adbc_reads_the_same_chunks_as_sqlite3(
    make_source: SourceFactory, feature_keys: list[str] | None, chunk_rows: int
) -> None:
    # setup: more rows than ADBC types a column by (its first batch), so a projected key or
    # a malformed row first seen later makes it fall back to sqlite3 for that chunk
    path = make_source(_rows_with_bad_ones(3000))
    query = WindowQuery.build(T0, END, feature_keys=feature_keys)

    with SqliteSource.open_existing(path) as fast, _sqlite3_only(path) as old:
        new_chunks = [chunk.rows() for chunk in fast.read_chunks(query, chunk_rows)]
        old_chunks = [chunk.rows() for chunk in old.read_chunks(query, chunk_rows)]

    assert new_chunks == old_chunks
    # every row, the bad time too: as text it sorts inside the window (the parser rejects it)
    assert sum(map(len, new_chunks)) == 3000 + 6


def test_adbc_reads_plain_chunks_and_falls_back_on_a_late_type(
    make_source: SourceFactory,
) -> None:
    path = make_source(_rows_with_bad_ones(3000))
    plain = WindowQuery.build(T0, END)
    projected = WindowQuery.build(T0, END, feature_keys=["late_key"])

    with SqliteSource.open_existing(path) as source:
        fetched = source._fetch_arrow(*source.dialect.select_chunk(plain, None, 5000))
        # late_key is NULL in the first rows and text later: ADBC cannot type it
        refused = source._fetch_arrow(*source.dialect.select_chunk(projected, None, 5000))

    assert fetched is not None
    assert fetched.num_rows == 3006
    assert refused is None


def test_extract_writes_the_same_files_through_adbc_and_sqlite3(
    tmp_path: Path, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_source(_rows_with_bad_ones(3000))
    schema = ["c:categorical", "x:numeric:required", "late_key:categorical"]
    outputs = []
    for name, opener in (("adbc", SqliteSource.open_existing), ("sqlite3", _sqlite3_only)):
        monkeypatch.setattr(
            "trainplat.doris.extract.open_source", lambda *_, o=opener, **__: o(path)
        )
        result = extract(
            new_context(tmp_path, name),
            source=path,
            start=T0,
            end=END,
            feature_schema=schema,
            chunk_rows=1000,
            cache=False,
        )
        rejects = (tmp_path / name / "rejects.jsonl").read_text()
        outputs.append(
            (result.outputs["content_hash"], result.outputs["rejected_by_reason"], rejects)
        )

    assert outputs[0] == outputs[1]
    assert outputs[0][1] == {
        "malformed_json": 2,
        "bad_timestamp": 1,
        "type_conflict": 1,
        "non_finite": 1,
        "missing_key": 0,
        "unknown_key": 0,
    }
