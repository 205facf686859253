"""Feature rows as a MariaDB table (uuid, time DATETIME(6) in UTC, x, y), for the
point-in-time join tests that run inside the server."""

from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, text


def naive_utc(moment: object) -> datetime:
    """UTC wall-clock time for DATETIME(6) (the session runs with time_zone '+00:00')."""
    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    return stamp.tz_convert(None).to_pydatetime()


def create_feature_table(connection: Connection, table: str, features: pd.DataFrame) -> None:
    """(Re)creates `table` (a fixed test name) with `features`' rows; NaN y -> NULL."""
    connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    connection.execute(
        text(
            f"CREATE TABLE {table} (uuid VARCHAR(64), time DATETIME(6), "
            "x DOUBLE, y DOUBLE, KEY (uuid, time))"
        )
    )
    connection.execute(
        text(f"INSERT INTO {table} VALUES (:u, :t, :x, :y)"),
        [
            {
                "u": row.uuid,
                "t": naive_utc(row.time),
                "x": row.x,
                "y": None if pd.isna(row.y) else row.y,
            }
            for row in features.itertuples()
        ],
    )
