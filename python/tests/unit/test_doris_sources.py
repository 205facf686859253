"""Reading windows through the `Source` base class on the embedded SQLite source: keyset
chunks, filters, projection, hostile values."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.conftest import T0, SourceFactory, snapshot
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
    import sqlite3

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
