"""Sources of feature snapshots. Only the embedded SQLite source exists today; the seam is the
`Source` base class, which the MariaDB and Apache Doris sources will implement."""

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType

from trainplat.doris.schema import SQLITE_DDL, TABLE, SnapshotRow, encode_time

DEFAULT_CHUNK_ROWS = 10_000


class SourceError(ValueError):
    """The source cannot be used (missing file, not a database, missing table). A ValueError,
    so argument validation reports it against the `source` field."""


class Source(ABC):
    """A table of feature snapshots that can be read by half-open time window [start, end)."""

    @abstractmethod
    def count_window(self, start: datetime, end: datetime) -> int: ...

    @abstractmethod
    def read_window(
        self, start: datetime, end: datetime, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[list[SnapshotRow]]:
        """Rows with start <= time < end ordered by (time, uuid), at most chunk_rows at a time."""

    @abstractmethod
    def write(self, rows: Iterable[SnapshotRow]) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "Source":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class SqliteSource(Source):
    """The embedded default: a SQLite file holding the `feature_snapshots` table."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    def open_existing(cls, path: Path) -> "SqliteSource":
        if not path.is_file():
            raise SourceError(f"source {path} does not exist")
        # mode=ro: extraction must never create or modify the source.
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
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
        return cls(connection)

    @classmethod
    def create(cls, path: Path) -> "SqliteSource":
        connection = sqlite3.connect(path)
        for statement in SQLITE_DDL:
            connection.execute(statement)
        connection.commit()
        return cls(connection)

    def count_window(self, start: datetime, end: datetime) -> int:
        row = self._connection.execute(
            f"SELECT COUNT(*) FROM {TABLE} WHERE time >= ? AND time < ?",
            (encode_time(start), encode_time(end)),
        ).fetchone()
        return int(row[0])

    def read_window(
        self, start: datetime, end: datetime, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[list[SnapshotRow]]:
        cursor = self._connection.execute(
            f"SELECT uuid, node_id, time, features, is_tag, created_at FROM {TABLE} "
            "WHERE time >= ? AND time < ? ORDER BY time, uuid",
            (encode_time(start), encode_time(end)),
        )
        try:
            # fetchmany streams from SQLite's cursor: memory stays bounded by chunk_rows.
            while chunk := cursor.fetchmany(chunk_rows):
                yield [
                    SnapshotRow(
                        uuid=uuid,
                        node_id=node_id,
                        time=time,
                        features=features,
                        is_tag=bool(is_tag),
                        created_at=created_at,
                    )
                    for uuid, node_id, time, features, is_tag, created_at in chunk
                ]
        finally:
            cursor.close()

    def write(self, rows: Iterable[SnapshotRow]) -> int:
        cursor = self._connection.executemany(
            f"INSERT INTO {TABLE} (uuid, node_id, time, features, is_tag, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (row.uuid, row.node_id, row.time, row.features, int(row.is_tag), row.created_at)
                for row in rows
            ),
        )
        self._connection.commit()
        return cursor.rowcount

    def close(self) -> None:
        self._connection.close()
