"""Growing a trained model for a new training set without retraining it from scratch.

`extend_encoder` keeps every known feature, value and normalisation statistic where it was
and appends what the new data adds: numeric features (with statistics fitted on the new
data) and categorical values and features; the outputs stay the parent's. `extend_model`
builds the model for the grown encoder and copies the parent's weights into it so that it
computes the same function:

* new numeric features get zero columns in the input projection (for their values and
  their missing flags), so they contribute nothing until training moves them;
* a new value of a known categorical feature starts as a copy of that feature's
  out-of-vocabulary row, which is what the parent used for it;
* a new categorical feature gets a zero table (like a feature that is always missing).

Old rows and columns are copied bit for bit; the parent model is never modified. The child
is built on the CPU (the caller moves it to its training device)."""

from typing import Any

import torch

from trainplat.datasets.training_set_file import TrainingSetData
from trainplat.learning.checkpoint import build_model
from trainplat.learning.encoding import OUT_OF_VOCABULARY, FeatureEncoder
from trainplat.learning.model import TransformerTimeSeriesModel


def extend_encoder(encoder: FeatureEncoder, data: TrainingSetData) -> FeatureEncoder:
    """The encoder for `data`: `encoder`'s features, values and statistics unchanged and in
    place, followed by what `data` adds."""
    fitted = FeatureEncoder.fit(data)
    known = set(encoder.numeric_names) | set(encoder.vocabularies)
    clash = sorted(known & (set(fitted.numeric_names) | set(fitted.vocabularies)))
    clash = [n for n in clash if (n in encoder.numeric_names) != (n in fitted.numeric_names)]
    if clash:
        raise ValueError(f"features {clash} changed kind since the parent model was trained")
    names, means = list(encoder.numeric_names), list(encoder.numeric_mean)
    stds = list(encoder.numeric_std)
    for name, mean, std in zip(
        fitted.numeric_names, fitted.numeric_mean, fitted.numeric_std, strict=True
    ):
        if name not in encoder.numeric_names:
            names.append(name)
            means.append(mean)
            stds.append(std)
    vocabularies = dict(encoder.vocabularies)
    for name, values in fitted.vocabularies.items():
        old = vocabularies.get(name, ())
        seen = set(old)
        vocabularies[name] = old + tuple(v for v in values if v not in seen)
    return FeatureEncoder(tuple(names), tuple(means), tuple(stds), vocabularies, encoder.outputs)


def extend_model(
    parent: TransformerTimeSeriesModel,
    *,
    parent_encoder: FeatureEncoder,
    encoder: FeatureEncoder,
    architecture: dict[str, Any],
) -> TransformerTimeSeriesModel:
    """A new model for `encoder` (an extension of `parent_encoder`) holding `parent`'s
    weights; see the module docstring for how new inputs are initialised."""
    old_numeric, new_numeric = len(parent_encoder.numeric_names), len(encoder.numeric_names)
    if encoder.numeric_names[:old_numeric] != parent_encoder.numeric_names or any(
        encoder.vocabularies.get(name, ())[: len(values)] != values
        for name, values in parent_encoder.vocabularies.items()
    ):
        raise ValueError("the new encoder does not extend the parent's encoder")
    child = build_model(encoder, architecture)
    # Copied to the CPU, where the child is built, whatever device the parent is on.
    state = {key: value.detach().to("cpu", copy=True) for key, value in parent.state_dict().items()}
    target = child.state_dict()

    weight = state["input_projection.weight"]
    grown = torch.zeros_like(target["input_projection.weight"])
    grown[:, :old_numeric] = weight[:, :old_numeric]  # normalised values
    grown[:, new_numeric : new_numeric + old_numeric] = weight[:, old_numeric : 2 * old_numeric]
    grown[:, 2 * new_numeric :] = weight[:, 2 * old_numeric :]  # time encoding
    state["input_projection.weight"] = grown
    state["numeric_mean"] = target["numeric_mean"].clone()
    state["numeric_std"] = target["numeric_std"].clone()

    for index, name in enumerate(encoder.vocabularies):
        key = f"embeddings.{index}.weight"
        table = torch.zeros_like(target[key])
        if name in parent_encoder.vocabularies:
            old_index = list(parent_encoder.vocabularies).index(name)
            old_table = state.pop(f"embeddings.{old_index}.weight")
            table[: old_table.shape[0]] = old_table
            table[old_table.shape[0] :] = old_table[OUT_OF_VOCABULARY]
        state[f"new.{key}"] = table
    for key in [k for k in state if k.startswith("embeddings.")]:
        del state[key]
    for key in [k for k in state if k.startswith("new.")]:
        state[key.removeprefix("new.")] = state.pop(key)
    child.load_state_dict(state)
    child.train(parent.training)
    return child


def new_inputs(parent_encoder: FeatureEncoder, encoder: FeatureEncoder) -> dict[str, float]:
    """Counts of what an extension added, for the task's metrics."""
    new_values = sum(
        len(values) - len(parent_encoder.vocabularies.get(name, ()))
        for name, values in encoder.vocabularies.items()
    )
    return {
        "new_numeric_features": float(
            len(encoder.numeric_names) - len(parent_encoder.numeric_names)
        ),
        "new_categorical_features": float(
            len(set(encoder.vocabularies) - set(parent_encoder.vocabularies))
        ),
        "new_categorical_values": float(new_values),
    }
