"""The trainplat offline store's point-in-time join, called through Feast's OfflineStore
interface without a registry: leakage, kept rows, TTL, and equality with brute force."""

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from feast import Entity, FeatureView, Field, FileSource, RepoConfig, ValueType
from feast.types import Float64, String

from tests.unit.conftest import T0
from tests.unit.feast_snapshots import brute_force_join, random_tables
from trainplat.feast.offline_store import STORE_TYPE, TrainplatOfflineStore, in_entity_order
from trainplat.feast.pit_sql import ROW_COLUMN


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


def test_joined_features_are_put_back_in_entity_order_nulls_included() -> None:
    entities = pa.table({"uuid": ["a", "b", "c"], ROW_COLUMN: pa.array([0, 1, 2], pa.int64())})
    joined = pa.table(
        {
            ROW_COLUMN: [2, 0, 1],
            "x": pa.array([3.0, None, 2.0]),
            "n": pa.array([3, 1, None], pa.int64()),
            "c": pa.array(["r", None, "q"]),
        }
    )

    result = in_entity_order(entities, joined)

    assert result.to_pydict() == {
        "uuid": ["a", "b", "c"],
        "x": [None, 2.0, 3.0],
        "n": [1, None, 3],
        "c": [None, "q", "r"],
    }
    assert result.schema.field("n").type == pa.int64()
    with pytest.raises(RuntimeError, match="2 rows for 3 entity rows"):
        in_entity_order(entities, joined.slice(0, 2))


def test_naive_entity_times_are_read_as_utc_like_feasts_coercion(tmp_path: Path) -> None:
    # setup: the same label rows, naive (as Feast's coerce_tz_aware would read them: UTC)
    labels, features = random_tables(3, entities=10, rows=200, labels=50)
    labels["seen"] = labels["event_timestamp"]
    naive = labels.assign(
        event_timestamp=labels["event_timestamp"].dt.tz_convert(None),
        seen=labels["seen"].dt.tz_convert(None),
    )
    naive.index = naive.index[::-1]  # the frame's index plays no part
    # act
    aware_result = _join(tmp_path, features, labels, None)
    naive_result = _join(tmp_path, features, naive, None)
    # check
    pd.testing.assert_frame_equal(naive_result, aware_result)
    assert str(naive_result["seen"].dtype) == "datetime64[ns, UTC]"
