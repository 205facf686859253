"""`DorisOfflineStore` on the real MariaDB of scripts/services.sh (MySQL protocol, as Doris):
selected by class path in feature_store.yaml, its result equals the DuckDB store's on the
same data, label rows without an earlier feature row included (kept, with nulls)."""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feast import FeatureStore, FeatureView, Field, FileSource
from feast.data_source import DataSource
from feast.types import Float64, String
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError

from tests.integration.mariadb_tables import create_feature_table
from tests.unit.feast_snapshots import random_tables
from trainplat.doris.connection import ServerConfig, dispose_engines, engine_for
from trainplat.feast import doris_offline_store
from trainplat.feast.doris_offline_store import STORE_TYPE as DORIS_STORE
from trainplat.feast.doris_source import DorisSource
from trainplat.feast.offline_store import STORE_TYPE as DUCKDB_STORE
from trainplat.feast.repo import entity

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
