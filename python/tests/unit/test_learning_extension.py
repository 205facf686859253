"""Growing a parent's encoder and model for new features and values, without retraining."""

import numpy as np
import pytest
import torch

from trainplat.datasets.training_set_file import TrainingSetData
from trainplat.learning.checkpoint import build_model
from trainplat.learning.encoding import OUT_OF_VOCABULARY, FeatureEncoder
from trainplat.learning.extension import extend_encoder, extend_model, new_inputs
from trainplat.learning.model import TransformerTimeSeriesModel, predict_probabilities

ARCHITECTURE = {"d_model": 8, "heads": 2, "layers": 1, "dropout": 0.0}
HISTORY = 3


def toy_set(
    rows: int, seed: int, *, numeric: tuple[str, ...], categorical: dict[str, list[str]]
) -> TrainingSetData:
    rng = np.random.default_rng(seed)
    shape = (rows, HISTORY)
    return TrainingSetData(
        schema={**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")},
        config={},
        label_time_us=np.zeros(rows, dtype=np.int64),
        label=rng.integers(0, 2, rows).astype(np.int64),
        age_seconds=rng.random(shape) * 3600,
        valid=np.ones(shape, dtype=np.bool_),
        numeric={name: rng.normal(5.0, 2.0, shape) for name in numeric},
        categorical={
            name: rng.choice(np.array(values, dtype=object), shape)
            for name, values in categorical.items()
        },
    )


def _table(model: TransformerTimeSeriesModel, index: int) -> torch.Tensor:
    embedding = model.embeddings[index]
    assert isinstance(embedding, torch.nn.Embedding)
    return embedding.weight


OLD = toy_set(40, 0, numeric=("x", "y"), categorical={"c": ["a", "b"]})
NEW = toy_set(40, 1, numeric=("x", "y", "z"), categorical={"c": ["a", "b", "new"], "d": ["p", "q"]})


def test_extend_encoder_appends_and_keeps_known_statistics() -> None:
    parent = FeatureEncoder.fit(OLD)

    grown = extend_encoder(parent, NEW)

    assert grown.numeric_names == ("x", "y", "z")
    assert grown.numeric_mean[:2] == parent.numeric_mean
    assert grown.numeric_std[:2] == parent.numeric_std
    assert grown.vocabularies == {"c": ("a", "b", "new"), "d": ("p", "q")}
    assert new_inputs(parent, grown) == {
        "new_numeric_features": 1.0,
        "new_categorical_features": 1.0,
        "new_categorical_values": 3.0,
    }


def test_extend_encoder_rejects_a_feature_that_changed_kind() -> None:
    parent = FeatureEncoder.fit(OLD)
    changed = toy_set(5, 2, numeric=("x",), categorical={"y": ["a"]})

    with pytest.raises(ValueError, match="changed kind"):
        extend_encoder(parent, changed)


def test_extend_model_keeps_old_weights_bit_identical_and_the_same_function() -> None:
    # setup
    parent_encoder = FeatureEncoder.fit(OLD)
    torch.manual_seed(0)
    parent = build_model(parent_encoder, ARCHITECTURE)
    before = {k: v.clone() for k, v in parent.state_dict().items()}
    encoder = extend_encoder(parent_encoder, NEW)
    # act
    child = extend_model(
        parent, parent_encoder=parent_encoder, encoder=encoder, architecture=ARCHITECTURE
    )
    # check: old rows and columns bit for bit, new value rows start as the OOV row
    old_table, new_table = _table(parent, 0), _table(child, 0)
    assert torch.equal(new_table[: old_table.shape[0]], old_table)
    assert torch.equal(new_table[-1], old_table[OUT_OF_VOCABULARY])
    assert not bool(_table(child, 1).any())  # new feature: zero table
    old_w, new_w = parent.input_projection.weight, child.input_projection.weight
    assert torch.equal(new_w[:, :2], old_w[:, :2])  # values
    assert torch.equal(new_w[:, 3:5], old_w[:, 2:4])  # missing flags
    assert torch.equal(new_w[:, 6:], old_w[:, 4:])  # time encoding
    assert not new_w[:, [2, 5]].any()
    # the same predictions: the parent on its encoding, the child on the grown one
    expected = predict_probabilities(parent, parent_encoder.encode(NEW), 64)
    actual = predict_probabilities(child, encoder.encode(NEW), 64)
    assert torch.allclose(actual, expected, atol=1e-6)
    # and the parent is untouched
    assert all(torch.equal(before[k], v) for k, v in parent.state_dict().items())
