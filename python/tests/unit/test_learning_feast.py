"""The learning tasks read the flat training sets of `feast.training_set` through the same
reader as the sequence sets of `datasets.training_set`."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.conftest import WINDOW_END as END
from tests.unit.conftest import WINDOW_START as START
from tests.unit.conftest import extract_two_windows, new_context
from trainplat.datasets.training_set_file import (
    FLAT_FORMAT,
    read_metadata,
    read_training_set,
    write_training_set,
)
from trainplat.datasets.version import content_hash
from trainplat.feast.training_set import build_feast_training_set
from trainplat.learning.evaluate import evaluate
from trainplat.learning.incremental_update import incremental_update
from trainplat.learning.train import train
from trainplat.synthetic.generator import SyntheticConfig


@pytest.fixture(scope="module")
def feast_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An earlier and a later window's Feast training sets from one synthetic source."""
    root = tmp_path_factory.mktemp("feast-learning")
    config = SyntheticConfig(
        start=START, end=END, entities=200, features=10, seed=3, drift=0.2,
        snapshots_per_entity=20, tag_fraction=0.3,
    )  # fmt: skip
    paths = []
    for name, snapshots in extract_two_windows(root, config).items():
        built = build_feast_training_set(
            new_context(root, f"f-{name}"),
            snapshots=snapshots,
            registry=root / "repo" / "registry.db",
        )
        paths.append(Path(str(built.outputs["training_set"])))
    return paths[0], paths[1]


def test_feast_training_set_reads_as_a_history_of_one(feast_sets: tuple[Path, Path]) -> None:
    early, _ = feast_sets
    # act
    data = read_training_set(early)
    # check
    flat = pq.read_table(early)
    assert data.config["format"] == FLAT_FORMAT
    assert data.valid.shape == (flat.num_rows, 1)
    assert data.valid.all()
    assert (data.age_seconds == 0.0).all()
    assert data.label.tolist() == flat.column("label").to_pylist()
    numeric = next(name for name, kind in data.schema.items() if kind == "numeric")
    expected = np.array(flat.column(numeric).to_pylist(), dtype=np.float64)
    np.testing.assert_array_equal(data.numeric[numeric][:, 0], expected)  # nulls -> NaN
    categorical = next(name for name, kind in data.schema.items() if kind == "categorical")
    assert data.categorical[categorical][:, 0].tolist() == flat.column(categorical).to_pylist()


def test_feast_training_set_trains_evaluates_and_updates_a_model(
    tmp_path: Path, feast_sets: tuple[Path, Path]
) -> None:
    early, late = feast_sets
    # act
    trained = train(
        new_context(tmp_path, "train"), training_set=early, epochs=3, d_model=16, batch_size=64
    )
    model = Path(str(trained.outputs["model"]))
    scored = evaluate(new_context(tmp_path, "eval"), model=model, training_set=late)
    updated = incremental_update(
        new_context(tmp_path, "update"), parent_model=model, training_set=late,
        earlier_sets=(early,), epochs=1, batch_size=64, replay_size=64,
    )  # fmt: skip
    # check
    assert trained.model_version is not None
    assert trained.model_version.training_set_version == content_hash(
        early, read_metadata(early)[1]
    )
    assert scored.metrics["rows"] == pq.read_metadata(late).num_rows
    assert scored.metrics["auc"] > 0.6, scored.metrics
    assert updated.model_version is not None
    assert updated.model_version.training_set_version == content_hash(late, read_metadata(late)[1])


def _flat_file(path: Path, columns: dict[str, pa.Array], fmt: str = FLAT_FORMAT) -> Path:
    write_training_set(path, columns, {"x": "numeric"}, {"format": fmt})
    return path


def test_reader_names_the_file_and_the_missing_column(tmp_path: Path) -> None:
    # setup: a flat file without its label column
    path = _flat_file(
        tmp_path / "no-label.parquet",
        {
            "uuid": pa.array(["a"]),
            "node_id": pa.array(["1"]),
            "label_time": pa.array([0], pa.timestamp("us", tz="UTC")),
            "x": pa.array([1.0]),
        },
    )
    # act, check
    with pytest.raises(ValueError, match=r"no-label\.parquet is not a .*feast.* no column 'label'"):
        read_training_set(path)


def test_reader_names_a_missing_feature_column(tmp_path: Path) -> None:
    path = _flat_file(
        tmp_path / "no-x.parquet",
        {
            "uuid": pa.array(["a"]),
            "node_id": pa.array(["1"]),
            "label_time": pa.array([0], pa.timestamp("us", tz="UTC")),
            "label": pa.array([1], pa.int8()),
        },
    )

    with pytest.raises(ValueError, match=r"no-x\.parquet .* no column 'x'"):
        read_training_set(path)


def test_reader_rejects_an_unknown_format(tmp_path: Path) -> None:
    path = _flat_file(tmp_path / "odd.parquet", {"uuid": pa.array(["a"])}, fmt="other/v9")

    with pytest.raises(ValueError, match=r"odd\.parquet has training-set format 'other/v9'"):
        read_training_set(path)
