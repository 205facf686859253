"""The SQL each kind of source speaks: DDL for `feature_snapshots` and the statements of a
window read. Only identifiers from this module and validated feature keys are ever put into
SQL text; every user value is a bound parameter (`?` for sqlite3, `%s` for pymysql).

Keyset pagination on (time, uuid, node_id) reads a window chunk by chunk with the same
statement on all three; the window predicate is a plain comparison on the `time` column, so
Doris prunes day partitions with it and MariaDB/SQLite use the (time, uuid, node_id) index."""

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any, ClassVar

from trainplat.doris.keys import validate_feature_key
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import TABLE, decode_time, encode_time

# Column order of every SELECT; features (or the projected keys) follow.
ROW_COLUMNS = ("uuid", "node_id", "time", "is_tag", "created_at")
TIME_COLUMNS = frozenset({"time", "created_at"})
WRITE_COLUMNS = ("uuid", "node_id", "time", "features", "is_tag", "created_at")

Statement = tuple[str, list[Any]]


class Dialect(ABC):
    name: ClassVar[str]
    placeholder: ClassVar[str]

    @abstractmethod
    def ddl(self) -> tuple[str, ...]:
        """Statements that create `feature_snapshots` (idempotent where the server allows)."""

    @abstractmethod
    def quote(self, identifier: str) -> str: ...

    @abstractmethod
    def feature_expression(self, key: str) -> str:
        """SQL yielding the JSON text of `features.key`, or NULL when the key is absent."""

    @abstractmethod
    def invalid_features_expression(self) -> str:
        """SQL yielding NULL when `features` is a JSON object, else its raw text: with a
        projection this is how a malformed row reaches the parser (and the rejects file)."""

    @abstractmethod
    def time_param(self, moment: datetime) -> Any: ...

    @abstractmethod
    def time_text(self, value: Any) -> str:
        """A `time`/`created_at` value as fetched -> the fixed-width UTC text of SnapshotRow."""

    def version_sql(self) -> str:
        return "SELECT VERSION(), @@version_comment"

    def time_select(self, column: str) -> str:
        """How a time column is fetched. Text where the server can give it: drivers turn
        DATETIME into a datetime object one value at a time in Python, Arrow parses a
        column of text in one call."""
        return self.quote(column)

    # Statements built from the pieces above, the same for every dialect.

    def _where(self, query: WindowQuery, since: Any = None) -> Statement:
        """The window predicate and filters; `since` (a fetched time, not before the window's
        start) replaces the start as the lower bound of `time`."""
        column = self.quote
        p = self.placeholder
        clauses = [f"{column('time')} >= {p} AND {column('time')} < {p}"]
        start = self.time_param(query.start) if since is None else since
        params: list[Any] = [start, self.time_param(query.end)]
        for name, values in (("uuid", query.uuids), ("node_id", query.node_ids)):
            if values is not None:
                clauses.append(f"{column(name)} IN ({', '.join([p] * len(values))})")
                params.extend(values)
        if query.is_tag is not None:
            clauses.append(f"{column('is_tag')} = {p}")
            params.append(int(query.is_tag))
        return " AND ".join(clauses), params

    def _select_list(self, query: WindowQuery) -> str:
        # No aliases: ORDER BY `time` must name the column (and use its index), not the text.
        columns = [
            self.time_select(name) if name in TIME_COLUMNS else self.quote(name)
            for name in ROW_COLUMNS
        ]
        if query.feature_keys is None:
            columns.append(self.quote("features"))
        else:
            columns.extend(self.feature_expression(key) for key in query.feature_keys)
            columns.append(self.invalid_features_expression())
        return ", ".join(columns)

    def count(self, query: WindowQuery) -> Statement:
        where, params = self._where(query)
        return f"SELECT COUNT(*) FROM {self.quote(TABLE)} WHERE {where}", params

    def select_chunk(
        self, query: WindowQuery, after: tuple[Any, Any, Any] | None, limit: int
    ) -> Statement:
        """At most `limit` rows ordered by (time, uuid, node_id), strictly after the key
        `after` = (time, uuid, node_id) as fetched, or from the window's start."""
        if limit < 1:
            raise ValueError(f"chunk size must be positive, got {limit}")
        # After the first chunk the lower bound of `time` is the last key's time (which the
        # keyset predicate implies): SQLite does not derive it from the OR below and would
        # step through the window's index from its start on every chunk (quadratic).
        where, params = self._where(query, None if after is None else after[0])
        if after is not None:
            t, u, n = (self.quote(name) for name in ("time", "uuid", "node_id"))
            p = self.placeholder
            where += f" AND ({t} > {p} OR ({t} = {p} AND ({u} > {p} OR ({u} = {p} AND {n} > {p}))))"
            time, uuid, node_id = after
            params.extend([time, time, uuid, uuid, node_id])
        order = ", ".join(self.quote(name) for name in ("time", "uuid", "node_id"))
        sql = (
            f"SELECT {self._select_list(query)} FROM {self.quote(TABLE)} WHERE {where} "
            f"ORDER BY {order} LIMIT {int(limit)}"
        )
        return sql, params

    def select_key(self, query: WindowQuery, key: tuple[Any, Any, Any]) -> Statement:
        """Every row of the window with exactly this (time, uuid, node_id): the duplicate-key
        model allows several, and a chunk may end in the middle of them."""
        where, params = self._where(query)
        p = self.placeholder
        t, u, n = (self.quote(name) for name in ("time", "uuid", "node_id"))
        where += f" AND {t} = {p} AND {u} = {p} AND {n} = {p}"
        params.extend(key)
        return f"SELECT {self._select_list(query)} FROM {self.quote(TABLE)} WHERE {where}", params

    def insert(self) -> str:
        columns = ", ".join(self.quote(name) for name in WRITE_COLUMNS)
        values = ", ".join([self.placeholder] * len(WRITE_COLUMNS))
        return f"INSERT INTO {self.quote(TABLE)} ({columns}) VALUES ({values})"


def _json_path(key: str) -> str:
    # The key passed the allow-list ([A-Za-z_][A-Za-z0-9_]*), so it needs no quoting here.
    return f"'$.{validate_feature_key(key)}'"


class SqliteDialect(Dialect):
    name = "sqlite"
    placeholder = "?"

    def ddl(self) -> tuple[str, ...]:
        return (
            f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    uuid TEXT NOT NULL,
    node_id TEXT NOT NULL,
    time TEXT NOT NULL,
    features TEXT NOT NULL,
    is_tag INTEGER NOT NULL DEFAULT 0 CHECK (is_tag IN (0, 1)),
    created_at TEXT NOT NULL
)
""",
            f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_time_key ON {TABLE} (time, uuid, node_id)",
        )

    def quote(self, identifier: str) -> str:
        return f'"{identifier}"'

    def feature_expression(self, key: str) -> str:
        # `->` (SQLite >= 3.38) returns the JSON text of the value, like MariaDB's JSON_EXTRACT.
        # It raises on malformed JSON (failing the whole statement), hence the guard.
        features = self.quote("features")
        return f"CASE WHEN json_valid({features}) THEN {features} -> {_json_path(key)} END"

    def invalid_features_expression(self) -> str:
        # CASE evaluates lazily: json_type never sees malformed text (it would raise).
        features = self.quote("features")
        return (
            f"CASE WHEN json_valid({features}) THEN "
            f"CASE json_type({features}) WHEN 'object' THEN NULL ELSE {features} END "
            f"ELSE {features} END"
        )

    def time_param(self, moment: datetime) -> Any:
        return encode_time(moment)

    def time_text(self, value: Any) -> str:
        return str(value)

    def version_sql(self) -> str:
        return "SELECT sqlite_version(), 'SQLite'"


class _MySqlProtocolDialect(Dialect, ABC):
    placeholder = "%s"

    def quote(self, identifier: str) -> str:
        return f"`{identifier}`"

    def time_select(self, column: str) -> str:
        # 'YYYY-MM-DD hh:mm:ss.ffffff' (UTC wall-clock time, see time_param).
        return f"CAST({self.quote(column)} AS CHAR)"

    def time_param(self, moment: datetime) -> Any:
        # DATETIME(6) holds UTC wall-clock time; the session runs with time_zone '+00:00'.
        return moment.astimezone(UTC).replace(tzinfo=None)

    def time_text(self, value: Any) -> str:
        if isinstance(value, datetime):
            return encode_time(value.replace(tzinfo=UTC))
        return encode_time(decode_time(str(value)))


class MariaDbDialect(_MySqlProtocolDialect):
    """MariaDB (and MySQL-protocol servers that accept its DDL). JSON is an alias of
    LONGTEXT with a JSON_VALID check; utf8mb4_nopad_bin compares strings by code point
    without PAD SPACE, as SQLite and Doris do, so keyset order agrees across sources."""

    name = "mariadb"

    def ddl(self) -> tuple[str, ...]:
        return (
            f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    `uuid` VARCHAR(255) NOT NULL,
    `node_id` VARCHAR(255) NOT NULL,
    `time` DATETIME(6) NOT NULL,
    `features` JSON NOT NULL,
    `is_tag` BOOLEAN NOT NULL DEFAULT FALSE,
    `created_at` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    `row_id` BIGINT NOT NULL AUTO_INCREMENT,
    PRIMARY KEY (`time`, `uuid`, `node_id`, `row_id`),
    KEY `idx_{TABLE}_row_id` (`row_id`),
    KEY `idx_{TABLE}_uuid_time` (`uuid`, `time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin
""",
        )

    def feature_expression(self, key: str) -> str:
        return f"JSON_EXTRACT(`features`, {_json_path(key)})"

    def invalid_features_expression(self) -> str:
        # JSON_TYPE of malformed text is NULL (with a warning), so it falls to ELSE.
        return "CASE WHEN JSON_TYPE(`features`) = 'OBJECT' THEN NULL ELSE `features` END"


class DorisDialect(_MySqlProtocolDialect):
    """Apache Doris. Checked by generated-SQL tests only: no Doris server runs here."""

    name = "doris"

    def __init__(
        self, *, buckets: int = 16, replication_num: int | None = None, future_days: int = 3
    ) -> None:
        self.buckets = buckets
        self.replication_num = replication_num
        self.future_days = future_days

    def ddl(self) -> tuple[str, ...]:
        properties = {
            "dynamic_partition.enable": "true",
            "dynamic_partition.time_unit": "DAY",
            "dynamic_partition.time_zone": "UTC",
            "dynamic_partition.end": str(self.future_days),
            "dynamic_partition.prefix": "p",
            "dynamic_partition.buckets": str(self.buckets),
        }
        if self.replication_num is not None:
            properties["replication_num"] = str(self.replication_num)
        rendered = ",\n    ".join(f'"{name}" = "{value}"' for name, value in properties.items())
        # Key columns first, in key order (a Doris requirement); the partition column is a key.
        return (
            f"""
CREATE TABLE IF NOT EXISTS `{TABLE}` (
    `uuid` VARCHAR(255) NOT NULL,
    `node_id` VARCHAR(255) NOT NULL,
    `time` DATETIME(6) NOT NULL,
    `features` JSON NOT NULL,
    `is_tag` BOOLEAN NOT NULL,
    `created_at` DATETIME(6) NOT NULL
)
DUPLICATE KEY(`uuid`, `node_id`, `time`)
PARTITION BY RANGE(`time`) ()
DISTRIBUTED BY HASH(`uuid`) BUCKETS {int(self.buckets)}
PROPERTIES (
    {rendered}
)
""",
        )

    def time_select(self, column: str) -> str:
        return f"CAST({self.quote(column)} AS STRING)"

    def feature_expression(self, key: str) -> str:
        # JSONB_EXTRACT returns a JSON value; as a string it is the value's JSON text.
        return f"CAST(JSONB_EXTRACT(`features`, {_json_path(key)}) AS STRING)"

    def invalid_features_expression(self) -> str:
        # Doris' JSON type refuses malformed text on load; this catches non-objects.
        return (
            "CASE WHEN JSON_TYPE(`features`, '$') = 'object' THEN NULL "
            "ELSE CAST(`features` AS STRING) END"
        )


DIALECTS: dict[str, type[Dialect]] = {
    "sqlite": SqliteDialect,
    "mariadb": MariaDbDialect,
    "mysql": MariaDbDialect,
    "doris": DorisDialect,
}


def dialect_named(name: str) -> Dialect:
    try:
        return DIALECTS[name]()
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown source dialect {name!r} (known: {known})") from None
