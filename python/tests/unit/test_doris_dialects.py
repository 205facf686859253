"""Generated SQL. The Doris dialect is checked only here: no Doris server runs in tests."""

from datetime import UTC, datetime, timedelta

from tests.unit.conftest import T0
from trainplat.doris.dialects import DorisDialect, MariaDbDialect, SqliteDialect, dialect_named
from trainplat.doris.query import WindowQuery

END = T0 + timedelta(days=1)
HOSTILE = "'; DROP TABLE feature_snapshots; --"


def test_doris_ddl_is_duplicate_key_with_dynamic_day_partitions() -> None:
    (ddl,) = DorisDialect(buckets=8, replication_num=3).ddl()

    assert "DUPLICATE KEY(`uuid`, `node_id`, `time`)" in ddl
    assert "PARTITION BY RANGE(`time`) ()" in ddl
    assert "DISTRIBUTED BY HASH(`uuid`) BUCKETS 8" in ddl
    assert '"dynamic_partition.enable" = "true"' in ddl
    assert '"dynamic_partition.time_unit" = "DAY"' in ddl
    assert '"dynamic_partition.time_zone" = "UTC"' in ddl
    assert '"dynamic_partition.buckets" = "8"' in ddl
    assert '"replication_num" = "3"' in ddl
    assert "`node_id` VARCHAR(255) NOT NULL" in ddl
    assert "`features` JSON NOT NULL" in ddl
    # Doris wants the key columns first, in key order.
    columns = [line.split()[0] for line in ddl.splitlines() if line.startswith("    `")]
    assert columns[:3] == ["`uuid`", "`node_id`", "`time`"]


def test_doris_query_prunes_on_plain_time_predicate_with_bound_values() -> None:
    query = WindowQuery.build(
        T0, END, uuids=[HOSTILE, "b"], node_ids=["7"], is_tag=True, feature_keys=["x", "y"]
    )

    sql, params = DorisDialect().select_chunk(query, None, 100)

    where = sql.split(" WHERE ", 1)[1]
    assert where.startswith("`time` >= %s AND `time` < %s AND ")
    assert "`uuid` IN (%s, %s)" in where
    assert "`node_id` IN (%s)" in where
    assert "`is_tag` = %s" in where
    assert "CAST(JSONB_EXTRACT(`features`, '$.x') AS STRING)" in sql
    assert sql.endswith("ORDER BY `time`, `uuid`, `node_id` LIMIT 100")
    assert HOSTILE not in sql
    assert params == [
        datetime(2026, 1, 1),
        datetime(2026, 1, 2),
        HOSTILE,
        "b",
        "7",
        1,
    ]


def test_query_times_are_utc_whatever_the_input_offset() -> None:
    plus_eight = T0.astimezone(__import__("datetime").timezone(timedelta(hours=8)))
    query = WindowQuery.build(plus_eight, END)

    _, params = MariaDbDialect().count(query)

    assert params == [datetime(2026, 1, 1), datetime(2026, 1, 2)]
    assert query.start == datetime(2026, 1, 1, tzinfo=UTC)


def test_keyset_predicate_follows_the_window_predicate() -> None:
    query = WindowQuery.build(T0, END)
    after = ("2026-01-01T00:00:01.000000Z", "u", "n")

    sql, params = SqliteDialect().select_chunk(query, after, 5)

    assert '"time" >= ? AND "time" < ? AND ("time" > ? OR ("time" = ? AND' in sql
    assert params[2:] == [after[0], after[0], "u", "u", "n"]
    # The range starts at the last key's time, not at the window's start.
    assert params[:2] == [after[0], "2026-01-02T00:00:00.000000Z"]


def test_projection_per_dialect() -> None:
    assert SqliteDialect().feature_expression("x") == (
        'CASE WHEN json_valid("features") THEN "features" -> \'$.x\' END'
    )
    assert "JSON_TYPE(`features`) = 'OBJECT'" in MariaDbDialect().invalid_features_expression()
    assert "JSON_TYPE(`features`, '$') = 'object'" in (
        dialect_named("doris").invalid_features_expression()
    )
    assert MariaDbDialect().feature_expression("x") == "JSON_EXTRACT(`features`, '$.x')"
    assert dialect_named("mysql").name == "mariadb"


def test_mariadb_ddl_clusters_rows_in_keyset_order_with_binary_no_pad_collation() -> None:
    (ddl,) = MariaDbDialect().ddl()

    assert "PRIMARY KEY (`time`, `uuid`, `node_id`, `row_id`)" in ddl
    assert "`row_id` BIGINT NOT NULL AUTO_INCREMENT" in ddl
    assert "COLLATE=utf8mb4_nopad_bin" in ddl
    assert "DUPLICATE KEY" not in ddl
