"""The MySQL-protocol source against a real MariaDB server, compared with SQLite."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pymysql
import pytest
from sqlalchemy.exc import ProgrammingError

from tests.unit.conftest import T0, new_context, snapshot
from trainplat.doris.connection import PoolSettings, RetryPolicy, ServerConfig
from trainplat.doris.connection_check import check_connection
from trainplat.doris.extract import extract
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.server import ServerSource
from trainplat.doris.source import SqliteSource
from trainplat.synthetic.generator import SyntheticConfig, generate

pytestmark = pytest.mark.integration

END = T0 + timedelta(days=2)
HOSTILE = [
    "'; DROP TABLE feature_snapshots; --",
    "a'b",
    'x"y',
    "back`tick",
    "ü-ß",
    "😀",
    "\\",
    "%s",
    "trailing ",
    "100%",
]


def _rows() -> list[SnapshotRow]:
    config = SyntheticConfig(
        start=T0, end=END, entities=40, features=12, seed=3, snapshots_per_entity=15
    )
    return list(generate(config).snapshot_rows())


def _both(tmp_path: Path, mariadb: ServerSource, rows: list[SnapshotRow]) -> Path:
    path = tmp_path / "source.sqlite"
    with SqliteSource.create(path) as sqlite:
        sqlite.write(rows)
    mariadb.write(rows)
    return path


def _connect(url: str) -> Any:
    parsed = ServerConfig(url).parsed_url()
    return pymysql.connect(
        host=parsed.host, port=parsed.port or 3306, user=parsed.username, database=parsed.database
    )


def test_mariadb_ddl_is_accepted_and_idempotent(mariadb: ServerSource) -> None:
    mariadb.create_table()

    columns = mariadb.fetch(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
        ["feature_snapshots"],
    )
    assert [name for name, _ in columns] == [
        "uuid",
        "node_id",
        "time",
        "features",
        "is_tag",
        "created_at",
        "row_id",
    ]
    assert dict(columns)["node_id"] == "varchar"
    # Rows are stored in the order extraction reads them; `row_id` keeps duplicate keys apart.
    primary = mariadb.fetch(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
        ["feature_snapshots"],
    )
    assert [name for (name,) in primary] == ["time", "uuid", "node_id", "row_id"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"feature_keys": ["num_00", "cat_00", "label", "absent"]},
        {"is_tag": True, "feature_keys": ["label", "num_01"]},
        {"node_ids": ["1", "2", "3"], "chunk_rows": 7},
    ],
    ids=["all", "projection", "tagged", "nodes"],
)
def test_mariadb_extract_equals_sqlite(
    tmp_path: Path, mariadb: ServerSource, mariadb_url: str, query: dict[str, Any]
) -> None:
    rows = _rows()
    path = _both(tmp_path, mariadb, rows)
    uuids = sorted({row.uuid for row in rows})[:10]
    start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=40)
    arguments: dict[str, Any] = {"start": start, "end": end, "uuids": uuids, **query}

    lite = extract(new_context(tmp_path, "sqlite"), source=path, **arguments)
    maria = extract(new_context(tmp_path, "mariadb"), source_url=mariadb_url, **arguments)

    assert maria.outputs["rows"] == lite.outputs["rows"]
    assert int(str(lite.outputs["rows"])) > 0
    left = pq.read_table(str(lite.outputs["snapshots"]))
    right = pq.read_table(str(maria.outputs["snapshots"]))
    assert right.equals(left)
    times = right.column("time").to_pylist()
    assert min(times) >= start
    assert max(times) < end


def test_mariadb_window_is_half_open(mariadb: ServerSource) -> None:
    mariadb.write(
        [
            snapshot("before", -0.000001, {"x": 0}),
            snapshot("at-start", 0, {"x": 1}),
            snapshot("at-end", 86400, {"x": 2}),
        ]
    )

    (chunk,) = mariadb.read(WindowQuery.build(T0, T0 + timedelta(days=1)))

    assert [row.uuid for row in chunk] == ["at-start"]


def test_mariadb_chunks_cross_equal_times_and_duplicate_keys(mariadb: ServerSource) -> None:
    rows = [snapshot(f"u{i % 5}", 10, {"i": i}, node_id=i % 2) for i in range(20)]
    rows += [snapshot("u1", 10, {"dup": k}, node_id=1) for k in range(3)]
    mariadb.write(rows)
    query = WindowQuery.build(T0, END)

    whole = [row for chunk in mariadb.read(query, 1000) for row in chunk]
    for size in (1, 3, 4):
        flat = [row for chunk in mariadb.read(query, size) for row in chunk]
        assert sorted(flat, key=repr) == sorted(whole, key=repr)
    assert len(whole) == 23


def test_mariadb_projection_reads_a_full_last_chunk_and_an_empty_window(
    mariadb: ServerSource,
) -> None:
    # 4 rows in chunks of 2: the third statement finds no row (an empty projected result
    # once failed to become a chunk: it had fewer columns than the projection).
    mariadb.write([snapshot(f"u{i}", i, {"x": i, "y": "skip"}) for i in range(4)])
    projected = WindowQuery.build(T0, END, feature_keys=["x"])

    rows = [row for chunk in mariadb.read(projected, 2) for row in chunk]

    assert [row.features for row in rows] == [f'{{"x":{i}}}' for i in range(4)]
    empty = WindowQuery.build(END, END + timedelta(days=1), feature_keys=["x"])
    assert list(mariadb.read(empty)) == []


def test_mariadb_killed_connection_mid_read_is_retried(
    mariadb: ServerSource, mariadb_url: str
) -> None:
    mariadb.write([snapshot(f"u{i:03d}", i, {"i": i}) for i in range(50)])
    sleeps: list[float] = []
    # No pre-ping: the dead connection is handed out and the query itself must fail.
    reader = ServerSource(
        ServerConfig(mariadb_url, pool=PoolSettings(size=1, max_overflow=0, pre_ping=False)),
        retry=RetryPolicy(attempts=3, base_delay_s=0.01, sleep=sleeps.append),
    )
    chunks = reader.read(WindowQuery.build(T0, END), chunk_rows=10)
    first = next(chunks)
    (reader_id,) = reader.fetch("SELECT CONNECTION_ID()", ())[0]

    killer = _connect(mariadb_url)
    try:
        with killer.cursor() as cursor:
            cursor.execute("KILL CONNECTION %s", (reader_id,))
    finally:
        killer.close()
    rest = [row for chunk in chunks for row in chunk]

    assert len(first) + len(rest) == 50
    assert len(sleeps) >= 1


def test_mariadb_sql_error_is_not_retried(mariadb: ServerSource) -> None:
    sleeps: list[float] = []
    source = ServerSource(mariadb.config, retry=RetryPolicy(sleep=sleeps.append))

    with pytest.raises(ProgrammingError, match="1064"):
        source.fetch("SELEC 1", ())
    assert sleeps == []


@pytest.mark.parametrize("value", HOSTILE)
def test_mariadb_hostile_values_are_bound(mariadb: ServerSource, value: str) -> None:
    mariadb.write([snapshot(value, 1, {"x": 1}), snapshot("other", 2, {"x": 2})])

    (rows,) = mariadb.read(WindowQuery.build(T0, END, uuids=[value], node_ids=[value, "1"]))

    assert [row.uuid for row in rows] == [value]
    assert mariadb.count(WindowQuery.build(T0, END)) == 2


def test_mariadb_pool_of_4_serves_32_concurrent_extractions(
    mariadb: ServerSource, mariadb_url: str
) -> None:
    mariadb.write([snapshot(f"u{i:03d}", i, {"i": i}) for i in range(200)])
    source = ServerSource(
        ServerConfig(mariadb_url, pool=PoolSettings(size=4, max_overflow=0, timeout_s=60))
    )
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(_: int) -> int:
        try:
            return sum(len(c) for c in source.read(WindowQuery.build(T0, END), chunk_rows=25))
        except BaseException as error:
            with lock:
                errors.append(error)
            raise

    with ThreadPoolExecutor(32) as pool:
        counts = list(pool.map(one, range(32)))

    assert errors == []
    assert counts == [200] * 32


def test_mariadb_password_env_and_connection_check(
    tmp_path: Path, mariadb: ServerSource, mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mariadb.execute("DROP USER IF EXISTS 'tp_secret'@'127.0.0.1'")
    mariadb.execute("CREATE USER 'tp_secret'@'127.0.0.1' IDENTIFIED BY %s", ["s3cr'et"])
    mariadb.execute("GRANT SELECT ON *.* TO 'tp_secret'@'127.0.0.1'")
    parsed = ServerConfig(mariadb_url).parsed_url()
    url = f"mysql+pymysql://tp_secret@{parsed.host}:{parsed.port}/{parsed.database}"
    monkeypatch.setenv("TP_TEST_SECRET", "s3cr'et")

    result = check_connection(
        new_context(tmp_path, "check"), source_url=url, password_env="TP_TEST_SECRET", pings=3
    )

    assert result.outputs["dialect"] == "mariadb"
    assert "MariaDB" in str(result.outputs["server_version"])
    assert float(str(result.outputs["latency_ms"])) > 0


def test_mariadb_extract_cache_hit_skips_query(
    tmp_path: Path, mariadb: ServerSource, mariadb_url: str
) -> None:
    mariadb.write([snapshot("a", 1, {"x": 1})])
    cache = tmp_path / "cache"
    first = extract(
        new_context(tmp_path, "one"), source_url=mariadb_url, start=T0, end=END, cache_dir=cache
    )
    mariadb.execute("DROP TABLE feature_snapshots")  # a query now would fail

    second = extract(
        new_context(tmp_path, "two"), source_url=mariadb_url, start=T0, end=END, cache_dir=cache
    )

    assert (first.outputs["cache"], second.outputs["cache"]) == ("miss", "hit")
    assert second.outputs["rows"] == 1
    assert datetime.now(UTC) > END


# (field, value): each must be rejected by argument validation (the task exits 2 naming
# the field) or, for filter values, neutralised (bound parameters: no row, table intact).
INJECTIONS: list[tuple[str, Any, str]] = [
    ("feature_keys", ["x') OR 1=1 --"], "rejected"),
    ("feature_keys", ["`; DROP TABLE feature_snapshots; `"], "rejected"),
    ("feature_keys", ["a.b"], "rejected"),
    ("feature_keys", ["$.a"], "rejected"),
    ("feature_keys", ["x'y"], "rejected"),
    ("feature_keys", ["n\u0430me"], "rejected"),  # Cyrillic a
    ("feature_keys", ["a;b"], "rejected"),
    ("feature_keys", ["a/*b*/"], "rejected"),
    ("feature_schema", ["x:numeric'; DROP TABLE feature_snapshots; --"], "rejected"),
    ("feature_schema", ["x') OR 1=1 --:numeric"], "rejected"),
    ("uuids", ["' OR '1'='1"], "neutralised"),
    ("uuids", ["a'; DROP TABLE feature_snapshots; --"], "neutralised"),
    ("uuids", ["\\' OR 1=1 #"], "neutralised"),
    ("uuids", ["😀' --"], "neutralised"),
    ("uuids", ["x" * 256], "rejected"),
    ("node_ids", ["1 OR 1=1"], "neutralised"),
    ("node_ids", ["%s"], "neutralised"),
    ("node_ids", ["1); DELETE FROM feature_snapshots; --"], "neutralised"),
    ("is_tag", "1 OR 1=1", "rejected"),
    ("source_url", "mysql+pymysql://trainplat@127.0.0.1/db; DROP TABLE x", "rejected"),
    ("source_url", "mysql+pymysql://trainplat@127.0.0.1/db`x", "rejected"),
    ("source_url", "mysql+pymysql://a'b@127.0.0.1/trainplat_test", "rejected"),
    ("source_url", "mysql+pymysql://trainplat:pw@127.0.0.1/trainplat_test", "rejected"),
    ("source_url", "sqlite:///etc/passwd", "rejected"),
    ("source_url", "mysql+pymysql://trainplat@127.0.0.1/t?init_command=DROP+TABLE+x", "rejected"),
    ("password_env", "X; rm -rf /", "rejected"),
    ("source", "/etc/passwd", "rejected"),
    ("cache_url", "redis://:secret@127.0.0.1:6379/0", "rejected"),
]


@pytest.mark.parametrize(("field", "value", "outcome"), INJECTIONS)
def test_injection_attempts_are_rejected_or_neutralised(
    tmp_path: Path,
    mariadb: ServerSource,
    mariadb_url: str,
    field: str,
    value: Any,
    outcome: str,
) -> None:
    from pydantic import ValidationError

    from trainplat.doris.extract import ExtractArgs

    mariadb.write([snapshot("a", 1, {"x": 1}, node_id=1), snapshot("b", 2, {"x": 2})])
    arguments: dict[str, Any] = {
        "source_url": mariadb_url,
        "start": T0.isoformat(),
        "end": END.isoformat(),
        field: value,
    }
    if field == "source":
        del arguments["source_url"]

    if outcome == "rejected":
        with pytest.raises(ValidationError) as error:
            ExtractArgs.model_validate(arguments)
        assert field in str(error.value)  # the message names the offending field
    else:
        args = ExtractArgs.model_validate(arguments)
        result = extract(new_context(tmp_path, "task"), **dict(args))
        assert result.outputs["rows"] == 0
    assert_table_intact(mariadb)


def assert_table_intact(mariadb: ServerSource) -> None:
    rows = mariadb.fetch("SELECT uuid FROM feature_snapshots ORDER BY uuid", ())
    assert [row[0] for row in rows] == ["a", "b"]


def test_mariadb_pool_of_4_serves_32_concurrent_extract_tasks(
    tmp_path: Path, mariadb: ServerSource, mariadb_url: str
) -> None:
    mariadb.write([snapshot(f"u{i:03d}", i, {"i": i, "c": f"v{i % 3}"}) for i in range(300)])
    contexts = [new_context(tmp_path, f"t{i}") for i in range(32)]

    def one(index: int) -> Any:
        return extract(
            contexts[index],
            source_url=mariadb_url,
            start=T0,
            end=END,
            chunk_rows=40,
            pool_size=4,
            pool_max_overflow=0,
            cache=False,
        )

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))

    assert {result.outputs["rows"] for result in results} == {300}
    assert len({result.outputs["content_hash"] for result in results}) == 1


def test_mariadb_killed_connection_without_retries_fails_cleanly(
    mariadb: ServerSource, mariadb_url: str
) -> None:
    from sqlalchemy.exc import OperationalError

    from trainplat.doris.connection import is_transient

    mariadb.write([snapshot(f"u{i:03d}", i, {"i": i}) for i in range(50)])
    reader = ServerSource(
        ServerConfig(
            mariadb_url, pool=PoolSettings(size=1, max_overflow=0, pre_ping=False, recycle_s=7)
        ),
        retry=RetryPolicy(attempts=1),
    )
    chunks = reader.read(WindowQuery.build(T0, END), chunk_rows=10)
    next(chunks)
    (reader_id,) = reader.fetch("SELECT CONNECTION_ID()", ())[0]
    killer = _connect(mariadb_url)
    try:
        with killer.cursor() as cursor:
            cursor.execute("KILL CONNECTION %s", (reader_id,))
    finally:
        killer.close()

    with pytest.raises(OperationalError) as error:
        list(chunks)
    assert is_transient(error.value)
    assert reader.count(WindowQuery.build(T0, END)) == 50  # the pool replaced the connection
