"""The point-in-time join SQL of the Doris seam (`MariaDbJoinSql`, the form `DorisJoinSql`
shares) run on a real MariaDB server, compared with the brute-force join on random data."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.unit.feast_snapshots import brute_force_join, random_tables
from trainplat.doris.connection import ServerConfig, dispose_engines, engine_for
from trainplat.feast.pit_sql import ROW_COLUMN, MariaDbJoinSql, ViewJoin

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(mariadb_url: str) -> Iterator[Engine]:
    yield engine_for(ServerConfig(mariadb_url))
    dispose_engines()


def _naive(moment: object) -> datetime:
    """UTC wall-clock time for DATETIME(6) (the session runs with time_zone '+00:00')."""
    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    return stamp.tz_convert(None).to_pydatetime()


def _load(engine: Engine, labels: pd.DataFrame, features: pd.DataFrame) -> None:
    with engine.begin() as connection:
        connection.execute(text("SET time_zone = '+00:00'"))
        for table in ("pit_labels", "pit_features"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        connection.execute(
            text(
                f"CREATE TABLE pit_labels (`{ROW_COLUMN}` BIGINT PRIMARY KEY, "
                "uuid VARCHAR(64), event_timestamp DATETIME(6))"
            )
        )
        connection.execute(
            text(
                "CREATE TABLE pit_features (uuid VARCHAR(64), time DATETIME(6), "
                "x DOUBLE, y DOUBLE, KEY (uuid, time))"
            )
        )
        connection.execute(
            text("INSERT INTO pit_labels VALUES (:r, :u, :t)"),
            [
                {"r": i, "u": u, "t": _naive(t)}
                for i, (u, t) in enumerate(
                    zip(labels["uuid"], labels["event_timestamp"], strict=True)
                )
            ],
        )
        connection.execute(
            text("INSERT INTO pit_features VALUES (:u, :t, :x, :y)"),
            [
                {
                    "u": row.uuid,
                    "t": _naive(row.time),
                    "x": row.x,
                    "y": None if pd.isna(row.y) else row.y,
                }
                for row in features.itertuples()
            ],
        )


@pytest.mark.parametrize("ttl", [None, timedelta(seconds=400)])
def test_feast_mariadb_join_sql_equals_brute_force(engine: Engine, ttl: timedelta | None) -> None:
    # setup
    labels, features = random_tables(3, entities=20, rows=400, labels=200)
    _load(engine, labels, features)
    view = ViewJoin(
        relation="pit_features",
        timestamp_column="time",
        join_keys=(("uuid", "uuid"),),
        features=(("x", "x"), ("y", "y")),
        ttl_us=int(ttl.total_seconds() * 1_000_000) if ttl else None,
    )
    sql = MariaDbJoinSql().join(
        "pit_labels", ("uuid", "event_timestamp"), "event_timestamp", (view,)
    )
    # act
    with engine.connect() as connection:
        rows = connection.execute(text(sql)).all()
    # check
    result = pd.DataFrame(rows, columns=["uuid", "event_timestamp", "x", "y"])
    result["event_timestamp"] = pd.to_datetime(result["event_timestamp"]).dt.tz_localize("UTC")
    expected = brute_force_join(labels, features, ["uuid"], ttl)
    pd.testing.assert_frame_equal(
        result.astype({"x": "float64", "y": "float64"}),
        expected,
        check_dtype=False,
    )
