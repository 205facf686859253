"""Sources of feature snapshots. The `Source` base class reads a window with keyset
pagination, whatever the dialect; each source only says how to run one statement.
`SqliteSource` is the embedded default; `ServerSource` (server.py) serves MariaDB and Doris."""

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
from adbc_driver_manager import dbapi as adbc

from trainplat.doris.chunk import SnapshotChunk, chunk_from_columns, chunk_from_records
from trainplat.doris.dialects import Dialect, SqliteDialect
from trainplat.doris.query import WindowQuery
from trainplat.doris.schema import TABLE, SnapshotRow

DEFAULT_CHUNK_ROWS = 10_000


class SourceError(ValueError):
    """The source cannot be used (missing file, not a database, missing table). A ValueError,
    so argument validation reports it against the `source` field."""


class Source(ABC):
    """A table of feature snapshots that can be read by half-open time window [start, end)."""

    dialect: Dialect

    @abstractmethod
    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one read statement and return all its rows (a chunk at most)."""

    def fetch_chunk(
        self, sql: str, params: Sequence[Any], feature_keys: Sequence[str] | None
    ) -> SnapshotChunk:
        """Run one read statement (columns as `chunk_from_records` expects) into a chunk."""
        return chunk_from_records(self.fetch(sql, params), feature_keys, self.dialect.time_text)

    @abstractmethod
    def write(self, rows: Iterable[SnapshotRow]) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What names this source's data, for cache keys; never secrets."""

    def create_table(self) -> None:
        for statement in self.dialect.ddl():
            self.execute(statement)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement that returns nothing (DDL)."""
        self.fetch(sql, params)

    def server_version(self) -> str:
        version, comment = self.fetch(self.dialect.version_sql(), ())[0]
        return f"{version} ({comment})" if comment else str(version)

    def ping(self) -> None:
        self.fetch("SELECT 1", ())

    def count(self, query: WindowQuery) -> int:
        sql, params = self.dialect.count(query)
        return int(self.fetch(sql, params)[0][0])

    def read_chunks(
        self, query: WindowQuery, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[SnapshotChunk]:
        """Rows of the window ordered by (time, uuid, node_id), about chunk_rows at a time,
        column by column (no object per row).

        Each chunk is its own statement starting after the previous chunk's last key, so a
        retried chunk resumes where it failed and no cursor stays open between chunks. Rows
        that share the last key of a full chunk are read completely with that chunk (the
        Doris duplicate-key model allows equal keys), so none is skipped or repeated. The
        key goes back to the server as it was fetched (for MySQL-protocol sources the time
        is text, which the server compares as a DATETIME)."""
        after: tuple[Any, Any, Any] | None = None
        while True:
            sql, params = self.dialect.select_chunk(query, after, chunk_rows)
            chunk = self.fetch_chunk(sql, params, query.feature_keys)
            if not len(chunk):
                return
            if len(chunk) < chunk_rows:
                yield chunk
                return
            last = chunk.key(len(chunk) - 1)
            end = len(chunk)
            while end and chunk.key(end - 1) == last:
                end -= 1
            sql, params = self.dialect.select_key(query, last)
            yield chunk.head(end).extend(self.fetch_chunk(sql, params, query.feature_keys))
            after = last

    def read(
        self, query: WindowQuery, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[list[SnapshotRow]]:
        """`read_chunks` as rows (previews and tests; extraction reads the columns)."""
        for chunk in self.read_chunks(query, chunk_rows):
            yield chunk.rows()

    def count_window(self, start: datetime, end: datetime) -> int:
        return self.count(WindowQuery.build(start, end))

    def read_window(
        self, start: datetime, end: datetime, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[list[SnapshotRow]]:
        return self.read(WindowQuery.build(start, end), chunk_rows)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def sqlite_identity(path: Path) -> dict[str, Any]:
    """Size and modification time stand for the content: appending rows changes them."""
    stat = path.stat()
    return {
        "kind": "sqlite",
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


class SqliteSource(Source):
    """The embedded default: a SQLite file holding the `feature_snapshots` table.

    Chunks are read through ADBC's SQLite driver when the source was opened for reading
    (`open_existing`): it steps the statement and builds Arrow columns in C, without a Python
    object per value and without holding the GIL, so the reader thread overlaps with the
    parser. Everything else (and a chunk ADBC cannot read) goes through `sqlite3`."""

    dialect = SqliteDialect()

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path | None = None,
        arrow: adbc.Connection | None = None,
    ) -> None:
        self._connection = connection
        self._path = path
        self._arrow = arrow

    @classmethod
    def open_existing(cls, path: Path) -> "SqliteSource":
        if not path.is_file():
            raise SourceError(f"source {path} does not exist")
        # mode=ro: extraction must never create or modify the source. Extraction fetches
        # the next chunk on a reader thread while it parses this one (one thread at a time
        # uses the connection), hence check_same_thread off.
        uri = f"file:{path}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
            ).fetchone()
        except sqlite3.DatabaseError as error:
            connection.close()
            raise SourceError(f"source {path} is not a SQLite database: {error}") from error
        if found is None:
            connection.close()
            raise SourceError(f"source {path} has no table {TABLE}")
        # Autocommit: each statement reads its own snapshot, as with sqlite3 (no read
        # transaction held open across chunks, which would block writers to the file).
        return cls(connection, path, adbc_sqlite.connect(uri, autocommit=True))

    @classmethod
    def create(cls, path: Path) -> "SqliteSource":
        source = cls(sqlite3.connect(path), path)
        source.create_table()
        source._connection.commit()
        return source

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, tuple(params)).fetchall()

    def fetch_chunk(
        self, sql: str, params: Sequence[Any], feature_keys: Sequence[str] | None
    ) -> SnapshotChunk:
        table = self._fetch_arrow(sql, params) if self._arrow is not None else None
        if table is None:
            return super().fetch_chunk(sql, params, feature_keys)
        return chunk_from_columns(table.columns, feature_keys, self.dialect.time_text)

    def _fetch_arrow(self, sql: str, params: Sequence[Any]) -> pa.Table | None:
        """The statement's rows as Arrow columns, or None where ADBC cannot read them: it
        types each column by its first rows and fails on a later value of another type (a
        projected key absent from the first rows, then present). sqlite3 then runs the
        statement again, and raises any error that is really the statement's."""
        assert self._arrow is not None
        try:
            with self._arrow.cursor() as cursor:
                cursor.execute(sql, tuple(params))
                return cursor.fetch_arrow_table()
        except (adbc.Error, OSError):  # a type mismatch surfaces as OSError from the stream
            return None

    def write(self, rows: Iterable[SnapshotRow]) -> int:
        cursor = self._connection.executemany(
            self.dialect.insert(),
            (
                (
                    row.uuid,
                    str(row.node_id),
                    row.time,
                    row.features,
                    int(row.is_tag),
                    row.created_at,
                )
                for row in rows
            ),
        )
        self._connection.commit()
        return cursor.rowcount

    def identity(self) -> dict[str, Any]:
        if self._path is None:
            raise SourceError("an unnamed SQLite connection has no identity")
        return sqlite_identity(self._path)

    def close(self) -> None:
        if self._arrow is not None:
            self._arrow.close()
        self._connection.close()
