"""`model.pt`: weights, architecture and feature encoder in one file, loadable with
`weights_only=True` (plain containers and tensors only, so loading runs no pickled code).
The weights are saved as CPU tensors and loaded onto the CPU: a model trained on a GPU loads
on a machine without one; the caller moves it to its own device."""

from pathlib import Path
from typing import Any

import torch

from trainplat.learning.encoding import FeatureEncoder
from trainplat.learning.model import TransformerTimeSeriesModel

FORMAT = "trainplat.model/v1"


def build_model(
    encoder: FeatureEncoder, architecture: dict[str, Any]
) -> TransformerTimeSeriesModel:
    return TransformerTimeSeriesModel(
        numeric_mean=encoder.numeric_mean,
        numeric_std=encoder.numeric_std,
        vocabulary_sizes=encoder.vocabulary_sizes,
        d_model=int(architecture["d_model"]),
        heads=int(architecture["heads"]),
        layers=int(architecture["layers"]),
        dropout=float(architecture["dropout"]),
        outputs=encoder.outputs,
    )


def save_checkpoint(
    path: Path,
    model: TransformerTimeSeriesModel,
    encoder: FeatureEncoder,
    architecture: dict[str, Any],
) -> None:
    torch.save(
        {
            "format": FORMAT,
            "architecture": architecture,
            "encoder": encoder.to_json(),
            # CPU tensors whatever the model trained on: torch.load would otherwise look
            # for the GPU they were saved from (see also map_location in the loader).
            "state_dict": {name: value.cpu() for name, value in model.state_dict().items()},
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[TransformerTimeSeriesModel, FeatureEncoder]:
    model, encoder, _ = load_checkpoint_document(path)
    return model, encoder


def load_checkpoint_document(
    path: Path,
) -> tuple[TransformerTimeSeriesModel, FeatureEncoder, dict[str, Any]]:
    """Like `load_checkpoint`, plus the architecture the model was built with."""
    document = torch.load(path, map_location="cpu", weights_only=True)
    if document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} checkpoint")
    encoder = FeatureEncoder.from_json(document["encoder"])
    architecture: dict[str, Any] = dict(document["architecture"])
    model = build_model(encoder, architecture)
    model.load_state_dict(document["state_dict"])
    model.eval()
    return model, encoder, architecture
