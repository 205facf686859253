"""Generated SQL of the point-in-time join seam (Doris has no server here: its SQL is
checked as text; the MariaDB form runs in tests/integration/test_feast_mariadb.py)."""

import pytest

from trainplat.feast.pit_sql import DorisJoinSql, DuckDbAsofJoinSql, MariaDbJoinSql, ViewJoin

VIEW = ViewJoin(
    relation="feature_table",
    timestamp_column="time",
    join_keys=(("uuid", "uuid"),),
    features=(("x", "x"),),
    ttl_us=3_600_000_000,
)


def test_feast_join_sql_duckdb_is_an_asof_left_join() -> None:
    sql = DuckDbAsofJoinSql().join(
        "entities", ("uuid", "event_timestamp"), "event_timestamp", (VIEW,)
    )
    assert "ASOF LEFT JOIN feature_table" in sql
    assert 'e."event_timestamp" >= f0."time"' in sql
    assert "to_microseconds(3600000000)" in sql
    assert sql.endswith('ORDER BY e."__trainplat_row"')
    unordered = DuckDbAsofJoinSql().join(
        "entities", ("__trainplat_row",), "event_timestamp", (VIEW,), ordered=False
    )
    assert unordered.startswith('SELECT e."__trainplat_row", ')
    assert "ORDER BY" not in unordered


def test_feast_join_sql_doris_ranks_candidates_inside_the_server() -> None:
    sql = DorisJoinSql().join("entities", ("uuid", "event_timestamp"), "event_timestamp", (VIEW,))
    assert "ROW_NUMBER() OVER (PARTITION BY e.`__trainplat_row` ORDER BY f0.`time` DESC)" in sql
    assert "MICROSECONDS_SUB(e.`event_timestamp`, 3600000000)" in sql
    assert "LEFT JOIN v0 ON" in sql
    mariadb = MariaDbJoinSql().join(
        "entities", ("uuid", "event_timestamp"), "event_timestamp", (VIEW,)
    )
    assert "INTERVAL 3600000000 MICROSECOND" in mariadb


def test_feast_join_sql_rejects_names_that_could_inject() -> None:
    bad = ViewJoin("t", "time", (("uuid", "uuid"),), (("x`; DROP", "x"),))
    with pytest.raises(ValueError, match="backtick"):
        MariaDbJoinSql().join("entities", ("uuid",), "event_timestamp", (bad,))
