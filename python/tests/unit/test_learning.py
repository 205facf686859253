from pathlib import Path

import numpy as np
import pytest

from tests.unit.conftest import WINDOW_END as END
from tests.unit.conftest import WINDOW_START as START
from tests.unit.conftest import extract_two_windows, new_context
from trainplat.datasets.training_set import build_training_set
from trainplat.datasets.training_set_file import TrainingSetData, read_metadata, read_training_set
from trainplat.datasets.version import content_hash
from trainplat.learning.encoding import OUT_OF_VOCABULARY, PAD_OR_MISSING, FeatureEncoder
from trainplat.learning.evaluate import evaluate
from trainplat.learning.metrics import accuracy, log_loss, roc_auc
from trainplat.learning.train import train
from trainplat.synthetic.generator import SyntheticConfig


@pytest.fixture(scope="module")
def training_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An earlier and a later window's training sets from one drifting synthetic source."""
    root = tmp_path_factory.mktemp("learning")
    config = SyntheticConfig(
        start=START, end=END, entities=250, features=12, seed=5, drift=0.3,
        snapshots_per_entity=24, tag_fraction=0.3,
    )  # fmt: skip
    paths = []
    for name, snapshots in extract_two_windows(root, config).items():
        built = build_training_set(
            new_context(root, f"t-{name}"),
            snapshots=snapshots,
            history=8,
        )
        paths.append(Path(str(built.outputs["training_set"])))
    return paths[0], paths[1]


def test_train_then_evaluate_on_a_later_window_beats_chance(
    tmp_path: Path, training_sets: tuple[Path, Path]
) -> None:
    early, late = training_sets

    trained = train(
        new_context(tmp_path, "train"), training_set=early, epochs=3, d_model=16, batch_size=64,
        device="cpu",
    )  # fmt: skip
    scored = evaluate(
        new_context(tmp_path, "eval"), model=Path(str(trained.outputs["model"])), training_set=late,
        device="cpu",
    )  # fmt: skip

    assert scored.metrics["auc"] > 0.6, scored.metrics
    assert scored.metrics["rows"] == read_training_set(late).rows
    version = trained.model_version
    assert version is not None
    assert version.artifact_uri.endswith("/train/model.pt")
    assert version.config["device"] == "cpu"
    assert scored.outputs["device"] == "cpu"
    assert (tmp_path / "train" / "manifest.json").is_file()
    assert version.training_set_version == content_hash(early, read_metadata(early)[1])


def test_train_is_deterministic_by_seed(tmp_path: Path, training_sets: tuple[Path, Path]) -> None:
    early, _ = training_sets

    runs = [
        train(new_context(tmp_path, name), training_set=early, epochs=1, d_model=8, batch_size=128)
        for name in ("a", "b")
    ]

    assert runs[0].outputs["train_loss"] == runs[1].outputs["train_loss"]


def _one_row_set(
    numeric: dict[str, list[float]], categorical: dict[str, list[object]]
) -> TrainingSetData:
    history = 2
    schema = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
    return TrainingSetData(
        schema=schema,  # type: ignore[arg-type]
        config={},
        label_time_us=np.zeros(1, dtype=np.int64),
        label=np.ones(1, dtype=np.int64),
        age_seconds=np.zeros((1, history)),
        valid=np.ones((1, history), dtype=np.bool_),
        numeric={k: np.array([v], dtype=np.float64) for k, v in numeric.items()},
        categorical={k: np.array([v], dtype=object) for k, v in categorical.items()},
    )


def test_encoder_maps_unseen_and_missing_values() -> None:
    fitted = FeatureEncoder.fit(_one_row_set({"x": [1.0, 3.0]}, {"c": ["a", "b"]}))
    later = _one_row_set({}, {"c": ["never-seen", None]})

    batch = fitted.encode(later)

    assert batch.categorical[0, :, 0].tolist() == [OUT_OF_VOCABULARY, PAD_OR_MISSING]
    assert bool(batch.numeric.isnan().all())  # feature absent from the later set
    assert fitted.numeric_mean == (2.0,)
    assert fitted.numeric_std == (1.0,)
    assert FeatureEncoder.from_json(fitted.to_json()) == fitted


def test_encoder_rejects_a_feature_that_changed_kind() -> None:
    fitted = FeatureEncoder.fit(_one_row_set({"x": [1.0, 3.0]}, {}))

    with pytest.raises(ValueError, match="changed kind"):
        fitted.encode(_one_row_set({}, {"x": ["a", "b"]}))


def test_roc_auc_matches_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=200).astype(np.int64)
    scores = np.round(rng.random(200), 1)  # many ties
    positive, negative = scores[labels == 1], scores[labels == 0]
    pairwise = (positive[:, None] > negative[None, :]).mean() + 0.5 * (
        positive[:, None] == negative[None, :]
    ).mean()

    assert roc_auc(labels, scores) == pytest.approx(pairwise)
    assert roc_auc(np.array([0, 1]), np.array([0.2, 0.9])) == 1.0


def test_metrics_edge_cases() -> None:
    labels = np.array([0, 1, 1], dtype=np.int64)
    probabilities = np.array([0.0, 1.0, 0.4])

    assert accuracy(labels, probabilities) == pytest.approx(2 / 3)
    assert log_loss(labels, probabilities) == pytest.approx(-np.log(0.4) / 3, rel=1e-4)
    with pytest.raises(ValueError, match="single class"):
        roc_auc(np.ones(3, dtype=np.int64), probabilities)
