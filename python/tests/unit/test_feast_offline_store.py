"""The trainplat offline store's point-in-time join, called through Feast's OfflineStore
interface without a registry: leakage, kept rows, TTL, and equality with brute force."""

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from feast import Entity, FeatureView, Field, FileSource, RepoConfig, ValueType
from feast.types import Float64, String

from tests.unit.conftest import T0
from tests.unit.feast_snapshots import brute_force_join, random_tables
from trainplat.feast.offline_store import STORE_TYPE, TrainplatOfflineStore


def _config(tmp_path: Path) -> RepoConfig:
    return RepoConfig(
        project="test",
        provider="local",
        registry={"registry_type": "sql", "path": f"sqlite:///{tmp_path / 'registry.db'}"},
        online_store={"type": "sqlite", "path": str(tmp_path / "online.db")},
        offline_store={"type": STORE_TYPE},
        entity_key_serialization_version=3,
        repo_path=str(tmp_path),
    )


def _view(path: Path, ttl: timedelta | None, name: str = "fv") -> FeatureView:
    return FeatureView(
        name=name,
        entities=[Entity(name="uuid", join_keys=["uuid"], value_type=ValueType.STRING)],
        ttl=ttl,
        schema=[
            Field(name="uuid", dtype=String),
            Field(name="x", dtype=Float64),
            Field(name="y", dtype=Float64),
        ],
        source=FileSource(path=str(path), timestamp_field="time"),
    )


def _join(
    tmp_path: Path, features: pd.DataFrame, labels: pd.DataFrame, ttl: timedelta | None
) -> pd.DataFrame:
    path = tmp_path / "features.parquet"
    features.to_parquet(path)
    view = _view(path, ttl)
    job = TrainplatOfflineStore.get_historical_features(
        config=_config(tmp_path),
        feature_views=[view],
        feature_refs=["fv:x", "fv:y"],
        entity_df=labels,
        registry=None,  # type: ignore[arg-type]  # not used by this store
        project="test",
    )
    return job.to_df()


def _at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(T0) + pd.Timedelta(seconds=seconds)


def test_offline_store_never_uses_a_value_one_second_after_the_label(tmp_path: Path) -> None:
    # setup
    features = pd.DataFrame(
        {"uuid": ["a", "a"], "time": [_at(0), _at(101)], "x": [1.0, 999.0], "y": [2.0, 999.0]}
    )
    labels = pd.DataFrame({"uuid": ["a"], "event_timestamp": [_at(100)]})
    # act
    result = _join(tmp_path, features, labels, None)
    # check
    assert result["x"].tolist() == [1.0]
    assert result["y"].tolist() == [2.0]


def test_offline_store_keeps_label_rows_without_an_earlier_feature(tmp_path: Path) -> None:
    # setup
    features = pd.DataFrame({"uuid": ["a"], "time": [_at(50)], "x": [1.0], "y": [1.0]})
    labels = pd.DataFrame(
        {"uuid": ["a", "a", "zz"], "event_timestamp": [_at(10), _at(60), _at(60)]}
    )
    # act
    result = _join(tmp_path, features, labels, None)
    # check
    assert len(result) == 3
    assert result["uuid"].tolist() == ["a", "a", "zz"]  # the caller's order
    assert result["x"].isna().tolist() == [True, False, True]


def test_offline_store_respects_the_ttl(tmp_path: Path) -> None:
    # setup
    features = pd.DataFrame({"uuid": ["a"], "time": [_at(0)], "x": [1.0], "y": [1.0]})
    labels = pd.DataFrame(
        {"uuid": ["a", "a", "a"], "event_timestamp": [_at(3599), _at(3600), _at(3601)]}
    )
    # act
    result = _join(tmp_path, features, labels, timedelta(hours=1))
    # check
    assert result["x"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(("seed", "ttl"), [(0, None), (1, timedelta(seconds=400)), (2, None)])
def test_offline_store_equals_brute_force_on_random_data(
    tmp_path: Path, seed: int, ttl: timedelta | None
) -> None:
    # setup
    labels, features = random_tables(seed, entities=30, rows=600, labels=300)
    # act
    result = _join(tmp_path, features, labels, ttl)
    # check
    expected = brute_force_join(labels, features, ["uuid"], ttl)
    pd.testing.assert_frame_equal(
        result[["uuid", "event_timestamp", "x", "y"]], expected, check_dtype=False
    )
