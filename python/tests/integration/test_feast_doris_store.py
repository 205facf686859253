"""`DorisOfflineStore` on the real MariaDB of scripts/services.sh (MySQL protocol, as Doris):
selected by class path in feature_store.yaml, its result equals the DuckDB store's on the
same data, label rows without an earlier feature row included (kept, with nulls); and
materialising from it into the SQLite online store gives the online values that
materialising the same rows from Parquet gives."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from feast import FeatureStore, FeatureView, Field, FileSource
from feast.data_source import DataSource
from feast.types import Float64, String
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from tests.integration.mariadb_tables import create_feature_table, naive_utc
from tests.unit.conftest import T0, new_context
from tests.unit.feast_snapshots import random_tables
from trainplat.doris.connection import ServerConfig, dispose_engines, engine_for
from trainplat.feast import doris_offline_store
from trainplat.feast.doris_offline_store import STORE_TYPE as DORIS_STORE
from trainplat.feast.doris_offline_store import DorisOfflineStore
from trainplat.feast.doris_source import DorisSource
from trainplat.feast.materialize import materialize
from trainplat.feast.offline_store import STORE_TYPE as DUCKDB_STORE
from trainplat.feast.offline_store import TrainplatOfflineStore
from trainplat.feast.online import online_features, open_store
from trainplat.feast.repo import entity
from trainplat.tasks.result import JsonValue

pytestmark = pytest.mark.integration

FEATURE_TABLE = "pit_store_features"
FEATURES = ["fv:x", "fv:y"]


@pytest.fixture
def engine(mariadb_url: str) -> Iterator[Engine]:
    yield engine_for(ServerConfig(mariadb_url))
    dispose_engines()


def _store(repo: Path, offline_store: dict[str, str], source: DataSource, ttl: int) -> FeatureStore:
    repo.mkdir()
    config = {
        "project": "pit",
        "provider": "local",
        "registry": {"registry_type": "sql", "path": f"sqlite:///{repo / 'registry.db'}"},
        "online_store": {"type": "sqlite", "path": str(repo / "online.db")},
        "offline_store": offline_store,
        "entity_key_serialization_version": 3,
    }
    (repo / "feature_store.yaml").write_text(json.dumps(config))
    store = FeatureStore(repo_path=str(repo))
    view = FeatureView(
        name="fv",
        entities=[entity("uuid")],
        ttl=timedelta(seconds=ttl),
        schema=[Field(name="uuid", dtype=String), Field(name="x", dtype=Float64),
                Field(name="y", dtype=Float64)],
        source=source,
    )  # fmt: skip
    store.apply([entity("uuid"), source, view])
    return store


@pytest.mark.parametrize("ttl", [0, 400])
def test_doris_store_equals_duckdb_store_and_keeps_unmatched_labels(
    tmp_path: Path, engine: Engine, mariadb_url: str, ttl: int
) -> None:
    # setup: the same rows as Parquet and as a server table
    labels, features = random_tables(7, entities=20, rows=400, labels=200)
    labels["label"] = np.arange(len(labels)) % 2
    parquet = tmp_path / "features.parquet"
    features.to_parquet(parquet)
    with engine.begin() as connection:
        create_feature_table(connection, FEATURE_TABLE, features)
    duckdb_store = _store(
        tmp_path / "duckdb",
        {"type": DUCKDB_STORE},
        FileSource(name="features", path=str(parquet), timestamp_field="time"),
        ttl,
    )
    doris_store = _store(
        tmp_path / "doris",
        {"type": DORIS_STORE, "url": mariadb_url},
        DorisSource(name="features", table=FEATURE_TABLE, timestamp_field="time"),
        ttl,
    )
    # act
    ours = doris_store.get_historical_features(entity_df=labels, features=FEATURES).to_df()
    reference = duckdb_store.get_historical_features(entity_df=labels, features=FEATURES).to_df()
    # check
    pd.testing.assert_frame_equal(ours, reference)
    assert list(ours.columns) == ["uuid", "event_timestamp", "label", "x", "y"]
    first_seen = features.groupby("uuid")["time"].min()
    unmatched = labels["event_timestamp"] < labels["uuid"].map(first_seen).fillna(
        pd.Timestamp.max.tz_localize("UTC")
    )
    assert unmatched.sum() > 5  # labels before any feature row, and unseen entities
    assert ours.loc[unmatched, ["x", "y"]].isna().all().all()
    assert len(ours) == len(labels)


def test_doris_store_drops_its_entity_table(
    tmp_path: Path, engine: Engine, mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # setup: a known entity-table name
    labels, features = random_tables(8, entities=5, rows=50, labels=20)
    with engine.begin() as connection:
        create_feature_table(connection, FEATURE_TABLE, features)
    store = _store(
        tmp_path / "doris",
        {"type": DORIS_STORE, "url": mariadb_url},
        DorisSource(table=FEATURE_TABLE, timestamp_field="time"),
        0,
    )
    monkeypatch.setattr(doris_offline_store, "entity_table_name", lambda: "__trainplat_entities_t")
    # act
    joined = store.get_historical_features(entity_df=labels, features=FEATURES).to_arrow()
    # check: the pool's one connection, which the job used, no longer has the table (a
    # temporary table would otherwise live as long as the pooled connection)
    assert joined.num_rows == len(labels)
    with engine.connect() as connection, pytest.raises(ProgrammingError, match="doesn't exist"):
        connection.exec_driver_sql("SELECT 1 FROM `__trainplat_entities_t`")


NOW = datetime.now(UTC).replace(microsecond=0)


def _recent(features: pd.DataFrame) -> pd.DataFrame:
    """The rows moved to end two hours before now: a first materialisation starts at now
    minus the TTL (Feast's rule), so the rows must be recent."""
    last = features["time"].max()
    return features.assign(time=features["time"] + (NOW - timedelta(hours=2) - last))


def _stores(
    tmp_path: Path, engine: Engine, mariadb_url: str, features: pd.DataFrame, ttl: int
) -> dict[str, Path]:
    """Repos over the same rows: Parquet for the DuckDB store, a table for the server's."""
    parquet = tmp_path / "features.parquet"
    features.to_parquet(parquet)
    with engine.begin() as connection:
        create_feature_table(connection, FEATURE_TABLE, features)
    _store(
        tmp_path / "duckdb",
        {"type": DUCKDB_STORE},
        FileSource(name="features", path=str(parquet), timestamp_field="time"),
        ttl,
    )
    _store(
        tmp_path / "doris",
        {"type": DORIS_STORE, "url": mariadb_url},
        DorisSource(name="features", table=FEATURE_TABLE, timestamp_field="time"),
        ttl,
    )
    return {"duckdb": tmp_path / "duckdb", "doris": tmp_path / "doris"}


def _latest(features: pd.DataFrame, end: datetime) -> dict[str, dict[str, Any]]:
    """Per entity, x and y of its newest row before `end` (null for NaN)."""
    before = features[features["time"] < end].sort_values("time")
    latest = before.groupby("uuid").tail(1).set_index("uuid")
    return {
        str(uuid): {c: None if pd.isna(row[c]) else row[c] for c in ("x", "y")}
        for uuid, row in latest.iterrows()
    }


def _online(repo: Path, uuids: list[str]) -> dict[str, dict[str, Any]]:
    columns = online_features(open_store(repo), [{"uuid": u} for u in uuids], FEATURES)
    return {u: {"x": columns["x"][i], "y": columns["y"][i]} for i, u in enumerate(uuids)}


def _rows(outputs: dict[str, JsonValue]) -> int:
    materialized = outputs["materialized"]
    assert isinstance(materialized, dict)
    view = materialized["fv"]
    assert isinstance(view, dict)
    rows = view["rows"]
    assert isinstance(rows, int)
    return rows


def test_materialising_from_the_server_equals_materialising_from_parquet(
    tmp_path: Path, engine: Engine, mariadb_url: str
) -> None:
    # setup: the same recent rows in both stores; a first run ends at the time of one of
    # them (that row moves in the second run, not the first)
    _, features = random_tables(9, entities=200, rows=400, labels=1)
    features = _recent(features)
    repos = _stores(tmp_path, engine, mariadb_url, features, ttl=86400)
    times = features["time"].sort_values()
    first_end = pd.Timestamp(times.iloc[len(times) // 2]).to_pydatetime()
    uuids = [*sorted(features["uuid"].unique()), "unknown"]
    for end, run in ((first_end, "first"), (NOW, "second")):
        # act: feast.materialize on each repo, to the same end
        results = {
            name: materialize(
                new_context(tmp_path, f"{name}_{run}"), registry=repo / "registry.db", end=end
            )
            for name, repo in repos.items()
        }
        # check: equal online values, the latest row per entity before the end
        expected = _latest(features, end)
        online = {name: _online(repo, uuids) for name, repo in repos.items()}
        assert online["doris"] == online["duckdb"]
        none = {"x": None, "y": None}  # entities with no row yet, and unknown ones
        assert online["doris"] == {u: expected.get(u, none) for u in uuids}
        # the second run moves only the entities with rows in [first_end, now)
        since = first_end if run == "second" else NOW - timedelta(days=1)
        moved = features[(features["time"] >= since) & (features["time"] < end)]
        rows = [_rows(result.outputs) for result in results.values()]
        assert rows == [moved["uuid"].nunique()] * 2
    assert len(_latest(features, first_end)) < len(_latest(features, NOW))


def test_latest_pull_bounds_and_created_time_tie_break_match_the_duckdb_store(
    tmp_path: Path, engine: Engine, mariadb_url: str
) -> None:
    # setup: per entity, a row at the start (kept), two rows sharing one time (the later
    # created wins), and a row at the end (excluded: the interval is [start, end))
    start, end = T0, T0 + timedelta(hours=1)
    rows = pd.DataFrame(
        {
            "uuid": ["a", "a", "a", "a", "b", "c"],
            "time": [start, start + timedelta(minutes=5), start + timedelta(minutes=5), end,
                     start, start - timedelta(seconds=1)],
            "created": [T0, T0, T0 + timedelta(seconds=1), T0, T0, T0],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )  # fmt: skip
    parquet = tmp_path / "rows.parquet"
    rows.to_parquet(parquet, coerce_timestamps="us")  # as extracts are written
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {FEATURE_TABLE}"))
        connection.execute(
            text(
                f"CREATE TABLE {FEATURE_TABLE} (uuid VARCHAR(64), time DATETIME(6), "
                "created DATETIME(6), x DOUBLE)"
            )
        )
        connection.execute(
            text(f"INSERT INTO {FEATURE_TABLE} VALUES (:u, :t, :c, :x)"),
            [
                {"u": r.uuid, "t": naive_utc(r.time), "c": naive_utc(r.created), "x": r.x}
                for r in rows.itertuples()
            ],
        )
    sources = {
        "doris": (
            DorisOfflineStore,
            DorisSource(table=FEATURE_TABLE, timestamp_field="time"),
            {"type": DORIS_STORE, "url": mariadb_url},
        ),
        "duckdb": (
            TrainplatOfflineStore,
            FileSource(path=str(parquet), timestamp_field="time"),
            {"type": DUCKDB_STORE},
        ),
    }
    # act
    pulled = {}
    for name, (store, source, offline) in sources.items():
        config = _store(tmp_path / name, offline, source, 0).config
        job = store.pull_latest_from_table_or_query(
            config, source, ["uuid"], ["x"], "time", "created", start, end
        )
        pulled[name] = job.to_df().sort_values("uuid").reset_index(drop=True)
    # check
    pd.testing.assert_frame_equal(pulled["doris"], pulled["duckdb"])
    assert pulled["doris"]["uuid"].tolist() == ["a", "b"]
    assert pulled["doris"]["x"].tolist() == [3.0, 5.0]
    assert pulled["doris"]["time"].tolist() == [start + timedelta(minutes=5), start]
