"""Feast's custom offline store for Apache Doris (and MariaDB/MySQL, which speak the same
protocol): the entity frame is loaded into a table of its own on the server, and the
point-in-time join (`pit_sql.DorisJoinSql` / `MariaDbJoinSql`) runs there, so feature rows
never leave the server; only the joined rows come back.

feature_store.yaml names it by class path, with the server (no password in the URL; the
password, if any, is read from the environment variable `password_env`):

    offline_store:
      type: trainplat.feast.doris_offline_store.DorisOfflineStore
      url: doris://trainplat@doris-fe:9030/features
      password_env: TRAINPLAT_SOURCE_PASSWORD

Feature views read `DorisSource` tables. As in the DuckDB store, label rows without a
feature row at or before their time are kept (nulls), in the entity frame's order.
Materialisation (`pull_latest_from_table_or_query`) is not served by this store yet."""

import uuid
from collections.abc import Sequence
from typing import Any, Literal

import pyarrow as pa
from feast.data_source import DataSource
from feast.feature_view import FeatureView
from feast.infra.offline_stores.offline_store import OfflineStore, RetrievalJob
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import FeastConfigBaseModel, RepoConfig
from pydantic import StrictStr, field_validator
from sqlalchemy import Connection, text

from trainplat.doris.connection import ServerConfig, engine_for
from trainplat.doris.keys import validate_feature_key
from trainplat.feast.doris_source import DorisSource
from trainplat.feast.offline_store import JoinPlan, plan_join
from trainplat.feast.pit_sql import JOIN_SQL, ROW_COLUMN, MySqlProtocolJoinSql
from trainplat.feast.retrieval_job import PlannedRetrievalJob

STORE_TYPE = "trainplat.feast.doris_offline_store.DorisOfflineStore"
ENTITY_TABLE_PREFIX = "__trainplat_entities_"
INSERT_BATCH_ROWS = 10_000


class DorisOfflineStoreConfig(FeastConfigBaseModel):
    """`offline_store` section of feature_store.yaml (Feast finds it by the class name)."""

    type: Literal["trainplat.feast.doris_offline_store.DorisOfflineStore"] = (
        "trainplat.feast.doris_offline_store.DorisOfflineStore"
    )
    url: StrictStr
    password_env: StrictStr | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        ServerConfig(value)  # scheme, host, database, no password
        return value

    def server(self) -> ServerConfig:
        return ServerConfig(self.url, self.password_env)


def table_relation(source: DataSource) -> str:
    if not isinstance(source, DorisSource):
        raise TypeError(f"{STORE_TYPE} reads DorisSource tables only, not {type(source).__name__}")
    return source.get_table_query_string()


class DorisOfflineStore(OfflineStore):
    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: Any,
        registry: BaseRegistry,  # noqa: ARG004 (Feast's signature; views come resolved)
        project: str,  # noqa: ARG004
        full_feature_names: bool = False,
        **kwargs: Any,  # noqa: ARG004 (filter_by_created_timestamp: not supported)
    ) -> RetrievalJob:
        store_config = config.offline_store
        if not isinstance(store_config, DorisOfflineStoreConfig):
            raise TypeError(f"{STORE_TYPE} needs its own offline_store section")
        plan = plan_join(entity_df, feature_views, feature_refs, full_feature_names, table_relation)
        return ServerRetrievalJob(
            store_config.server(), plan, full_feature_names=full_feature_names
        )


class ServerRetrievalJob(PlannedRetrievalJob):
    """Load the entity rows, join inside the server, drop the entity table; on each call,
    under a fresh table name, so concurrent jobs never share one."""

    def __init__(self, server: ServerConfig, plan: JoinPlan, *, full_feature_names: bool) -> None:
        super().__init__(full_feature_names=full_feature_names, metadata=plan.metadata)
        self._server = server
        self._plan = plan

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:  # noqa: ARG002
        dialect = self._server.dialect_name
        join_sql = JOIN_SQL[dialect]()
        assert isinstance(join_sql, MySqlProtocolJoinSql)  # doris or mariadb, never duckdb
        table = entity_table_name()
        plan = self._plan
        sql = join_sql.join(
            join_sql.quote(table), plan.entity_columns, plan.event_column, plan.joins
        )
        # Autocommit: Doris has no multi-statement transactions for loads, and the table is
        # ours alone anyway.
        with engine_for(self._server).connect() as raw:
            connection = raw.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text(create_entity_table(dialect, table, plan.entities.schema)))
            try:
                _insert(connection, join_sql, table, plan.entities)
                rows = connection.execute(text(sql)).all()
            finally:
                # Pooled connections outlive the job, and with them a temporary table.
                connection.execute(text(drop_entity_table(dialect, table)))
        return _result_table(rows, plan)


def entity_table_name() -> str:
    return ENTITY_TABLE_PREFIX + uuid.uuid4().hex


def _sql_type(name: str, arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR(255)"
    if pa.types.is_timestamp(arrow_type):
        return "DATETIME(6)"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    raise ValueError(
        f"entity column {name!r} of type {arrow_type} cannot be loaded into the server"
    )


def create_entity_table(dialect: str, table: str, schema: pa.Schema) -> str:
    """DDL for the entity rows, the row number first (Doris wants its key columns first).
    MariaDB gets a TEMPORARY table (gone with the session if the drop never runs); Doris a
    one-bucket duplicate-key table, dropped after the join."""
    quote = JOIN_SQL[dialect]().quote
    names = [ROW_COLUMN, *(name for name in schema.names if name != ROW_COLUMN)]
    columns = ", ".join(
        f"{quote(validate_feature_key(name))} {_sql_type(name, schema.field(name).type)}"
        for name in names
    )
    name, row = quote(validate_feature_key(table)), quote(ROW_COLUMN)
    if dialect == "doris":
        return (
            f"CREATE TABLE {name} ({columns}) DUPLICATE KEY({row}) "
            f'DISTRIBUTED BY HASH({row}) BUCKETS 1 PROPERTIES ("replication_num" = "1")'
        )
    return f"CREATE TEMPORARY TABLE {name} ({columns}, PRIMARY KEY ({row}))"


def drop_entity_table(dialect: str, table: str) -> str:
    kind = "TABLE" if dialect == "doris" else "TEMPORARY TABLE"
    return f"DROP {kind} IF EXISTS {JOIN_SQL[dialect]().quote(validate_feature_key(table))}"


def _insert(
    connection: Connection, join_sql: MySqlProtocolJoinSql, table: str, entities: pa.Table
) -> None:
    """Batched INSERT ... VALUES with bound values (pymysql sends each batch as one
    multi-row statement). DATETIME holds UTC wall-clock time (the session's zone is UTC)."""
    names = entities.column_names
    columns = ", ".join(join_sql.quote(validate_feature_key(name)) for name in names)
    values = ", ".join(f":p{index}" for index in range(len(names)))
    statement = text(f"INSERT INTO {join_sql.quote(table)} ({columns}) VALUES ({values})")
    naive = pa.table(
        [
            column.cast(pa.timestamp("us")) if pa.types.is_timestamp(column.type) else column
            for column in entities.columns
        ],
        names=names,
    )
    for batch in naive.to_batches(max_chunksize=INSERT_BATCH_ROWS):
        rows = zip(*(column.to_pylist() for column in batch.columns), strict=True)
        connection.execute(
            statement, [{f"p{i}": value for i, value in enumerate(row)} for row in rows]
        )


def _result_table(rows: Sequence[Any], plan: JoinPlan) -> pa.Table:
    """The joined rows typed as the entity frame's columns and the views' fields (timestamps
    back to UTC, 0/1 back to booleans, all-null columns keep their type)."""
    types = {name: plan.entities.schema.field(name).type for name in plan.entity_columns}
    types.update(plan.feature_types)
    return pa.table(
        {
            name: pa.array([row[index] for row in rows], from_pandas=True).cast(arrow_type)
            for index, (name, arrow_type) in enumerate(types.items())
        }
    )
