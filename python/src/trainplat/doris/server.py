"""`ServerSource`: feature snapshots on a MySQL-protocol server (Apache Doris, MariaDB),
read through the source's pooled engine with transient failures retried per statement."""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from trainplat.doris.connection import RetryPolicy, ServerConfig, engine_for
from trainplat.doris.dialects import Dialect, dialect_named
from trainplat.doris.schema import SnapshotRow, decode_time
from trainplat.doris.source import Source

WRITE_BATCH_ROWS = 5_000


class ServerSource(Source):
    def __init__(
        self,
        config: ServerConfig,
        *,
        retry: RetryPolicy | None = None,
        dialect: Dialect | None = None,
    ) -> None:
        self.config = config
        self.dialect = dialect or dialect_named(config.dialect_name)
        self.retry = retry or RetryPolicy()
        self._engine: Engine = engine_for(config)

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.retry.call(lambda: self._fetch_once(sql, params), what="source query")

    def _fetch_once(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        # One pooled connection per statement: a chunk is fetched whole (bounded by the
        # chunk size), and the connection goes back to the pool before the caller parses it.
        with self._engine.connect() as connection:
            result = connection.exec_driver_sql(sql, tuple(params))
            # The driver's own tuples: mysqlclient stored the whole result at execute (where
            # SQLAlchemy wraps errors and invalidates a broken connection), and SQLAlchemy's
            # Row objects cost about four times as much for a chunk that is transposed at once.
            rows = list(result.cursor.fetchall()) if result.returns_rows else []
            connection.commit()
        return rows

    def write(self, rows: Iterable[SnapshotRow]) -> int:
        """Insert rows (tests, benchmarks, loading fixtures). Not retried: not idempotent."""
        sql = self.dialect.insert()
        written = 0
        batch: list[tuple[Any, ...]] = []
        with self._engine.begin() as connection:
            for row in rows:
                batch.append(
                    (
                        row.uuid,
                        str(row.node_id),
                        self.dialect.time_param(decode_time(row.time)),
                        row.features,
                        int(row.is_tag),
                        self.dialect.time_param(decode_time(row.created_at)),
                    )
                )
                if len(batch) >= WRITE_BATCH_ROWS:
                    connection.exec_driver_sql(sql, batch)
                    written += len(batch)
                    batch = []
            if batch:
                connection.exec_driver_sql(sql, batch)
                written += len(batch)
        return written

    def identity(self) -> dict[str, Any]:
        return self.config.identity()

    def close(self) -> None:
        """Nothing to close: the engine and its pool outlive one source object, so later
        queries in this process reuse its connections (see `dispose_engines`)."""
