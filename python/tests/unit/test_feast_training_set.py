"""Task `feast.training_set` end to end in-process: a generated repo applied through the
Feast SDK to a SQLite SQL registry, labels from tagged snapshots, features through the
trainplat offline store."""

from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.unit.conftest import new_context
from tests.unit.feast_snapshots import Row, write_snapshots
from trainplat.feast.definitions import VERSION_TAG
from trainplat.feast.repo import DEFAULT_VIEW, apply_repo, spec_from_snapshots
from trainplat.feast.training_set import FEAST_TRAINING_SET_PROGRAM, build_feast_training_set
from trainplat.tasks.result import FeatureKind, JsonValue

KINDS: dict[str, FeatureKind] = {"x": "numeric", "c": "categorical", "label": "numeric"}
ROWS = [
    Row("a", 100, {"x": 1.0, "c": "old"}),
    Row("a", 200, {"x": 2.0, "c": "now", "label": 1}, is_tag=True),
    Row("a", 201, {"x": 999.0, "c": "future"}),  # one second after the label: never used
    Row("b", 150, {"label": 0}, is_tag=True),  # no feature value at all: kept, nulls
    Row("c", 10, {"x": 7.0, "c": "stale"}),
    Row("c", 10 + 7200, {"label": 1}, is_tag=True),
]


def _build(tmp_path: Path, name: str, ttl: int = 3600) -> tuple[dict[str, JsonValue], Path]:
    snapshots = write_snapshots(tmp_path / f"{name}.parquet", ROWS, KINDS)
    context = new_context(tmp_path, name)
    result = build_feast_training_set(
        context,
        snapshots=snapshots,
        ttl=ttl,
        project="proj",
        registry=tmp_path / "repo" / "registry.db",
    )
    return result.to_json(), Path(str(result.outputs["training_set"]))


def test_feast_training_set_is_point_in_time_correct(tmp_path: Path) -> None:
    # act
    _, path = _build(tmp_path, "set")
    # check
    table = pq.read_table(path).to_pydict()
    assert table["uuid"] == ["b", "a", "c"]  # label-time order
    assert table["label"] == [0, 1, 1]
    assert table["x"][1] == 2.0  # the value at the label time, never 999.0
    assert table["c"][1] == "now"
    assert table["x"][0] is None  # b: no earlier feature, row kept
    # c: the latest row at the label time is the tagged snapshot itself, which has no x;
    # Feast joins rows, not per-feature last values, so the older 7.0 is not carried over.
    assert table["x"][2] is None
    assert "label" not in pq.read_schema(path).names[4:]


def test_feast_training_set_registers_the_ttl_on_the_view(tmp_path: Path) -> None:
    # act
    _build(tmp_path, "set", ttl=1800)
    # check
    applied = apply_repo(
        spec_from_snapshots("proj", tmp_path / "set.parquet", ttl_seconds=1800, exclude=("label",)),
        tmp_path / "repo",
    )
    assert applied.store.get_feature_view(DEFAULT_VIEW).ttl == timedelta(seconds=1800)


def test_feast_training_set_reports_a_version_with_feature_view_hashes(tmp_path: Path) -> None:
    # act
    document, _ = _build(tmp_path, "first")
    again, _ = _build(tmp_path, "second")
    # check
    version = document["training_set_version"]
    assert isinstance(version, dict)
    assert version["row_count"] == 3
    assert version["schema"] == {"x": "numeric", "c": "categorical"}
    feast_config = version["config"]["feast"]
    assert feast_config["project"] == "proj"
    assert set(feast_config["feature_views"]) == {DEFAULT_VIEW}
    assert 0.0 <= version["config"]["quality_score"] <= 1.0
    # identical content (another extract path, another task dir) -> the same id
    repeated = again["training_set_version"]
    assert isinstance(repeated, dict)
    assert repeated["content_hash"] == version["content_hash"]


def test_feast_feature_view_hash_follows_the_definition_only(tmp_path: Path) -> None:
    # setup
    first = write_snapshots(tmp_path / "one.parquet", ROWS, KINDS)
    second = write_snapshots(tmp_path / "two.parquet", ROWS[:3], KINDS)
    # act
    applied = apply_repo(spec_from_snapshots("p", first, ttl_seconds=60), tmp_path / "r1")
    moved = apply_repo(spec_from_snapshots("p", second, ttl_seconds=60), tmp_path / "r2")
    longer = apply_repo(spec_from_snapshots("p", first, ttl_seconds=61), tmp_path / "r3")
    # check
    assert applied.view_versions == moved.view_versions
    assert applied.view_versions != longer.view_versions
    stored = applied.store.get_feature_view(DEFAULT_VIEW)
    assert stored.tags[VERSION_TAG] == applied.view_versions[DEFAULT_VIEW]


def test_feast_training_set_arguments_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        FEAST_TRAINING_SET_PROGRAM.arguments.model_validate({"snapshots": "/x", "bogus": 1})
