"""`DorisOfflineStore` without a server: every identifier that reaches SQL is checked, the
entity-table DDL per dialect, the materialisation pulls' SQL, the source's registry round
trip. Its joins and pulls run on MariaDB in tests/integration/test_feast_doris_store.py."""

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from feast import FeatureView, Field, FileSource, RepoConfig
from feast.types import Float64, String
from pydantic import ValidationError

from trainplat.feast.doris_offline_store import (
    DorisOfflineStore,
    DorisOfflineStoreConfig,
    RangePull,
    create_entity_table,
    drop_entity_table,
    pull_sql,
    table_relation,
)
from trainplat.feast.doris_source import DorisSource
from trainplat.feast.offline_store import plan_join
from trainplat.feast.pit_sql import ROW_COLUMN
from trainplat.feast.repo import entity

ENTITIES = pa.schema(
    [
        ("uuid", pa.string()),
        ("event_timestamp", pa.timestamp("us", tz="UTC")),
        ("label", pa.float64()),
        (ROW_COLUMN, pa.int64()),
    ]
)


def test_mariadb_entity_table_is_temporary_with_the_row_number_first() -> None:
    assert create_entity_table("mariadb", "__trainplat_entities_1", ENTITIES) == (
        "CREATE TEMPORARY TABLE `__trainplat_entities_1` (`__trainplat_row` BIGINT, "
        "`uuid` VARCHAR(255), `event_timestamp` DATETIME(6), `label` DOUBLE, "
        "PRIMARY KEY (`__trainplat_row`))"
    )
    assert drop_entity_table("mariadb", "__trainplat_entities_1") == (
        "DROP TEMPORARY TABLE IF EXISTS `__trainplat_entities_1`"
    )


def test_doris_entity_table_is_a_one_bucket_duplicate_key_table() -> None:
    ddl = create_entity_table("doris", "__trainplat_entities_1", ENTITIES)

    assert ddl.startswith("CREATE TABLE `__trainplat_entities_1` (`__trainplat_row` BIGINT, ")
    assert ddl.endswith(
        "DUPLICATE KEY(`__trainplat_row`) DISTRIBUTED BY HASH(`__trainplat_row`) "
        'BUCKETS 1 PROPERTIES ("replication_num" = "1")'
    )
    assert drop_entity_table("doris", "t") == "DROP TABLE IF EXISTS `t`"


@pytest.mark.parametrize("column", ["a`b", "x; DROP TABLE t", "label -- c", "é"])
def test_entity_columns_pass_the_identifier_allow_list(column: str) -> None:
    schema = ENTITIES.append(pa.field(column, pa.string()))

    with pytest.raises(ValueError, match="feature key"):
        create_entity_table("mariadb", "t", schema)


def test_entity_columns_of_unloadable_types_are_named() -> None:
    schema = ENTITIES.append(pa.field("history", pa.list_(pa.float64())))

    with pytest.raises(ValueError, match="entity column 'history' of type list"):
        create_entity_table("doris", "t", schema)


@pytest.mark.parametrize(
    ("table", "timestamp"), [("t`; DROP TABLE x", "time"), ("features", "time`")]
)
def test_doris_source_names_pass_the_identifier_allow_list(table: str, timestamp: str) -> None:
    with pytest.raises(ValueError, match="feature key"):
        DorisSource(table=table, timestamp_field=timestamp)


def test_doris_source_survives_the_registry_round_trip() -> None:
    source = DorisSource(name="features", table="pit_features", timestamp_field="time")

    restored = DorisSource.from_proto(source.to_proto())

    assert restored == source
    assert restored.get_table_query_string() == "`pit_features`"
    assert restored != DorisSource(name="features", table="other", timestamp_field="time")


def test_store_config_refuses_a_password_in_the_url() -> None:
    with pytest.raises(ValidationError, match="must not contain a password"):
        DorisOfflineStoreConfig(url="doris://user:secret@fe:9030/features")


def test_views_over_other_sources_are_refused_before_any_connection(tmp_path: Path) -> None:
    view = FeatureView(
        name="fv",
        entities=[entity("uuid")],
        ttl=timedelta(0),
        schema=[Field(name="uuid", dtype=String), Field(name="x", dtype=Float64)],
        source=FileSource(name="f", path=str(tmp_path / "f.parquet"), timestamp_field="time"),
    )
    labels = pd.DataFrame(
        {"uuid": ["a"], "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")]}
    )

    with pytest.raises(TypeError, match="reads DorisSource tables only, not FileSource"):
        plan_join(labels, [view], ["fv:x"], False, table_relation)


def test_latest_pull_ranks_per_join_key_in_a_derived_table_with_bound_times() -> None:
    pull = RangePull("`features`", ("uuid", "node_id"), ("x",), "time", "created")

    sql = pull_sql(pull, since=True, until=True, latest=True)

    # MariaDB has no QUALIFY: the rank is filtered outside a derived table, as Doris allows
    assert sql == (
        "SELECT `uuid`, `node_id`, `x`, `time`, `created` FROM (SELECT `uuid`, `node_id`, "
        "`x`, `time`, `created`, ROW_NUMBER() OVER (PARTITION BY `uuid`, `node_id` "
        "ORDER BY `time` DESC, `created` DESC) AS `__trainplat_rank` FROM `features` "
        "WHERE `time` >= :start AND `time` < :end) AS `__trainplat_latest` "
        "WHERE `__trainplat_rank` = 1"
    )


def test_pull_of_all_rows_binds_only_the_bounds_it_is_given() -> None:
    pull = RangePull("`features`", ("uuid",), ("x",), "time")

    assert pull_sql(pull, since=False, until=True, latest=False) == (
        "SELECT `uuid`, `x`, `time` FROM `features` WHERE `time` < :end"
    )
    assert pull_sql(pull, since=False, until=False, latest=False) == (
        "SELECT `uuid`, `x`, `time` FROM `features`"
    )


@pytest.mark.parametrize(
    "pull",
    [
        RangePull("`f`", ("uuid`",), ("x",), "time"),
        RangePull("`f`", ("uuid",), ("x; DROP TABLE f",), "time"),
        RangePull("`f`", ("uuid",), ("x",), "time", "created -- c"),
    ],
)
def test_pulled_column_names_pass_the_identifier_allow_list(pull: RangePull) -> None:
    with pytest.raises(ValueError, match="feature key"):
        pull_sql(pull, since=True, until=True, latest=True)


def test_pulls_from_other_sources_are_refused_before_any_connection(tmp_path: Path) -> None:
    source = FileSource(path=str(tmp_path / "f.parquet"), timestamp_field="time")
    start = pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime()

    with pytest.raises(TypeError, match="reads DorisSource tables only"):
        DorisOfflineStore.pull_all_from_table_or_query(
            RepoConfig(project="p", provider="local", registry=str(tmp_path / "r.db")),
            source, ["uuid"], ["x"], "time", None, start, start,
        )  # fmt: skip
