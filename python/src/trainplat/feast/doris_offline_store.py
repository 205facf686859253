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
Materialisation pulls (`pull_all_from_table_or_query`, which Feast's local engine uses, and
`pull_latest_from_table_or_query`) also run in the server: a bound [start, end) filter, and
for the latest rows a ROW_NUMBER() window per join key."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
from feast.data_source import DataSource
from feast.feature_view import FeatureView
from feast.infra.offline_stores.offline_store import OfflineStore, RetrievalJob
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import FeastConfigBaseModel, RepoConfig
from feast.utils import to_naive_utc
from pydantic import StrictStr, field_validator
from sqlalchemy import Connection, text

from trainplat.doris.connection import ServerConfig, engine_for
from trainplat.doris.keys import validate_feature_key
from trainplat.feast.doris_source import DorisSource
from trainplat.feast.offline_store import UTC_MICROSECONDS, JoinPlan, plan_join
from trainplat.feast.pit_sql import JOIN_SQL, ROW_COLUMN, MariaDbJoinSql, MySqlProtocolJoinSql
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
        plan = plan_join(entity_df, feature_views, feature_refs, full_feature_names, table_relation)
        return ServerRetrievalJob(_server(config), plan, full_feature_names=full_feature_names)

    @staticmethod
    def pull_latest_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: str | None,
        start_date: datetime,
        end_date: datetime,
    ) -> RetrievalJob:
        """The newest row per join key in [start_date, end_date), ranked inside the server
        (ties on the event time broken by the created time, when the source has one)."""
        pull = RangePull.of(
            data_source, join_key_columns, feature_name_columns, timestamp_field,
            created_timestamp_column,
        )  # fmt: skip
        return _pull_job(config, pull, start_date, end_date, latest=True)

    @staticmethod
    def pull_all_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> RetrievalJob:
        """Every row in [start_date, end_date) (either bound optional). Feast's local
        materialisation engine reads this and keeps the newest row per key itself."""
        pull = RangePull.of(
            data_source, join_key_columns, feature_name_columns, timestamp_field,
            created_timestamp_column,
        )  # fmt: skip
        return _pull_job(config, pull, start_date, end_date, latest=False)


def _server(config: RepoConfig) -> ServerConfig:
    store_config = config.offline_store
    if not isinstance(store_config, DorisOfflineStoreConfig):
        raise TypeError(f"{STORE_TYPE} needs its own offline_store section")
    return store_config.server()


@dataclass(frozen=True)
class RangePull:
    """The columns of one source table that materialisation reads. `relation` is the quoted
    table (`DorisSource.get_table_query_string`); the names are source columns (Feast has
    applied the field mapping) and are validated where they reach SQL."""

    relation: str
    join_keys: tuple[str, ...]
    features: tuple[str, ...]
    timestamp: str
    created: str | None = None

    @classmethod
    def of(
        cls,
        source: DataSource,
        join_keys: list[str],
        features: list[str],
        timestamp: str,
        created: str | None,
    ) -> "RangePull":
        """Feast's pull arguments (a DorisSource only)."""
        return cls(table_relation(source), tuple(join_keys), tuple(features), timestamp, created)

    @property
    def columns(self) -> tuple[str, ...]:
        created = (self.created,) if self.created else ()
        return (*self.join_keys, *self.features, self.timestamp, *created)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return (self.timestamp, self.created) if self.created else (self.timestamp,)


def pull_sql(pull: RangePull, *, since: bool, until: bool, latest: bool) -> str:
    """SELECT of `pull.columns` with `:start <= time < :end` (each bound only when asked
    for; values are bound by the caller). `latest` keeps the first row per join key ranked
    by time then created time, both descending, in a derived table filtered on the rank:
    the form MariaDB and Doris both accept (MariaDB has no QUALIFY)."""
    quote = MariaDbJoinSql().quote  # Doris and MariaDB quote identifiers alike
    names = {name: quote(validate_feature_key(name)) for name in pull.columns}
    select = ", ".join(names[name] for name in pull.columns)
    time = names[pull.timestamp]
    where = []
    if since:
        where.append(f"{time} >= :start")
    if until:
        where.append(f"{time} < :end")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = f"SELECT {select} FROM {pull.relation}{clause}"
    if not latest:
        return rows
    order = ", ".join(f"{names[name]} DESC" for name in pull.time_columns)
    keys = ", ".join(names[name] for name in pull.join_keys)
    partition = f"PARTITION BY {keys} " if keys else ""  # a view without entities: one row
    rank = f"ROW_NUMBER() OVER ({partition}ORDER BY {order}) AS `__trainplat_rank`"
    return (
        f"SELECT {select} FROM (SELECT {select}, {rank} FROM {pull.relation}{clause}) "
        "AS `__trainplat_latest` WHERE `__trainplat_rank` = 1"
    )


def _pull_job(
    config: RepoConfig,
    pull: RangePull,
    start: datetime | None,
    end: datetime | None,
    *,
    latest: bool,
) -> RetrievalJob:
    sql = pull_sql(pull, since=start is not None, until=end is not None, latest=latest)
    # DATETIME columns hold UTC wall-clock time (the session's zone is UTC).
    bounds = {"start": start, "end": end}
    params = {name: to_naive_utc(value) for name, value in bounds.items() if value is not None}
    types = dict.fromkeys(pull.columns, None) | dict.fromkeys(pull.time_columns, UTC_MICROSECONDS)
    return ServerQueryJob(_server(config), sql, params, types)


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
        types = {name: plan.entities.schema.field(name).type for name in plan.entity_columns}
        return _result_table(rows, types | plan.feature_types)


class ServerQueryJob(PlannedRetrievalJob):
    """One SELECT with bound parameters, run on each call; materialisation reads it."""

    def __init__(
        self,
        server: ServerConfig,
        sql: str,
        params: dict[str, Any],
        types: dict[str, pa.DataType | None],
    ) -> None:
        super().__init__(full_feature_names=False)
        self._server = server
        self._sql = sql
        self._params = params
        self._types = types

    def to_sql(self) -> str:
        return self._sql

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:  # noqa: ARG002
        with engine_for(self._server).connect() as connection:
            rows = connection.execute(text(self._sql), self._params).all()
        return _result_table(rows, self._types)


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


def _result_table(rows: Sequence[Any], types: dict[str, pa.DataType | None]) -> pa.Table:
    """The rows as Arrow columns in `types`' order, cast to the type given (timestamps back
    to UTC, 0/1 back to booleans, all-null columns keep their type); None: as the values
    come (a pull knows only the source's column names, not the views' field types)."""
    columns = {}
    for index, (name, arrow_type) in enumerate(types.items()):
        values = pa.array([row[index] for row in rows], from_pandas=True)
        columns[name] = values if arrow_type is None else values.cast(arrow_type)
    return pa.table(columns)
