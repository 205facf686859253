"""The point-in-time join SQL of the Doris seam (`MariaDbJoinSql`, the form `DorisJoinSql`
shares) run on a real MariaDB server, compared with the brute-force join on random data."""

from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.integration.mariadb_tables import create_feature_table, naive_utc
from tests.unit.feast_snapshots import brute_force_join, random_tables
from trainplat.doris.connection import ServerConfig, dispose_engines, engine_for
from trainplat.feast.pit_sql import ROW_COLUMN, MariaDbJoinSql, ViewJoin

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(mariadb_url: str) -> Iterator[Engine]:
    yield engine_for(ServerConfig(mariadb_url))
    dispose_engines()


def _load(engine: Engine, labels: pd.DataFrame, features: pd.DataFrame) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS pit_labels"))
        connection.execute(
            text(
                f"CREATE TABLE pit_labels (`{ROW_COLUMN}` BIGINT PRIMARY KEY, "
                "uuid VARCHAR(64), event_timestamp DATETIME(6))"
            )
        )
        connection.execute(
            text("INSERT INTO pit_labels VALUES (:r, :u, :t)"),
            [
                {"r": i, "u": u, "t": naive_utc(t)}
                for i, (u, t) in enumerate(
                    zip(labels["uuid"], labels["event_timestamp"], strict=True)
                )
            ],
        )
        create_feature_table(connection, "pit_features", features)


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
