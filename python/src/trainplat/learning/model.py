"""A small Transformer over irregular time series of feature snapshots, with one or more
output heads (`outputs.py`)."""

from collections.abc import Sequence

import torch
from torch import nn

from trainplat.learning.device import model_device
from trainplat.learning.encoding import PAD_OR_MISSING, EncodedBatch
from trainplat.learning.outputs import DEFAULT_OUTPUTS, Output, classification_index


class TimeDeltaEncoding(nn.Module):
    """Encodes each position's age (log hours before the label time) with fixed sinusoids.
    Snapshots arrive irregularly, so position index says little; age says how stale a
    snapshot is and how far apart two snapshots are."""

    frequencies: torch.Tensor

    def __init__(self, frequencies: int = 8) -> None:
        super().__init__()
        self.register_buffer("frequencies", torch.logspace(-1.0, 1.0, frequencies))

    @property
    def width(self) -> int:
        return 1 + 2 * int(self.frequencies.numel())

    def forward(self, log_age: torch.Tensor) -> torch.Tensor:
        angles = log_age.unsqueeze(-1) * self.frequencies
        return torch.cat((log_age.unsqueeze(-1), torch.sin(angles), torch.cos(angles)), dim=-1)


class TransformerTimeSeriesModel(nn.Module):
    """numeric (normalised with the training statistics kept as buffers, missing values
    zeroed and flagged) + time encoding -> one projection; plus one embedding per categorical
    feature (row 0 missing/padding, row 1 out-of-vocabulary); a Transformer encoder with
    padding masked; the label-time position and the mean over real positions -> one value per
    output (a logit for a classification, a normalised value for a numeric output)."""

    numeric_mean: torch.Tensor
    numeric_std: torch.Tensor

    def __init__(
        self,
        *,
        numeric_mean: Sequence[float],
        numeric_std: Sequence[float],
        vocabulary_sizes: Sequence[int],
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.1,
        outputs: Sequence[Output] = DEFAULT_OUTPUTS,
    ) -> None:
        super().__init__()
        self.outputs = tuple(outputs)  # read by the losses; the weights hold no copy of it
        self.register_buffer("numeric_mean", torch.tensor(numeric_mean, dtype=torch.float32))
        self.register_buffer("numeric_std", torch.tensor(numeric_std, dtype=torch.float32))
        self.time_encoding = TimeDeltaEncoding()
        numeric_width = 2 * len(numeric_mean)  # values and their missing flags
        self.input_projection = nn.Linear(numeric_width + self.time_encoding.width, d_model)
        self.embeddings = nn.ModuleList(
            nn.Embedding(size, d_model, padding_idx=PAD_OR_MISSING) for size in vocabulary_sizes
        )
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True
        )
        # Nested tensors only pay off for long, ragged batches; they also warn on CPU.
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        # One column per output; with one output the layout of the original classifier.
        self.head = nn.Sequential(
            nn.LayerNorm(2 * d_model), nn.Linear(2 * d_model, len(self.outputs))
        )

    def forward(
        self,
        numeric: torch.Tensor,
        categorical: torch.Tensor,
        log_age: torch.Tensor,
        padding: torch.Tensor,
    ) -> torch.Tensor:
        """numeric [n, h, f] with NaN missing; categorical [n, h, c]; log_age, padding [n, h].
        Returns [n, outputs]."""
        missing = torch.isnan(numeric)
        normalised = (torch.nan_to_num(numeric) - self.numeric_mean) / self.numeric_std
        normalised = normalised.masked_fill(missing, 0.0)
        inputs = torch.cat((normalised, missing.float(), self.time_encoding(log_age)), dim=-1)
        hidden = self.input_projection(inputs)
        for index, embedding in enumerate(self.embeddings):
            hidden = hidden + embedding(categorical[:, :, index])
        encoded = self.encoder(hidden, src_key_padding_mask=padding)
        real = (~padding).unsqueeze(-1).float()
        mean = (encoded * real).sum(dim=1) / real.sum(dim=1).clamp(min=1.0)
        # Positions are right-aligned: the last one is the snapshot at the label time.
        pooled = torch.cat((encoded[:, -1], mean), dim=-1)
        predictions: torch.Tensor = self.head(pooled)
        return predictions

    def run(self, batch: EncodedBatch) -> torch.Tensor:
        """forward on an encoded batch: [n, outputs]."""
        predictions: torch.Tensor = self(
            batch.numeric, batch.categorical, batch.log_age, batch.padding
        )
        return predictions


def predict(
    model: TransformerTimeSeriesModel, batch: EncodedBatch, batch_size: int
) -> torch.Tensor:
    """Raw predictions [n, outputs] in eval mode, `batch_size` rows at a time, on the
    model's device (`batch` may be elsewhere: each slice is moved there)."""
    model.eval()
    device = model_device(model)
    parts = []
    with torch.inference_mode():
        for index in torch.split(torch.arange(batch.rows), batch_size):
            parts.append(model.run(batch.select(index).to(device)))
    return torch.cat(parts) if parts else torch.zeros(0, len(model.outputs), device=device)


def predict_probabilities(
    model: TransformerTimeSeriesModel, batch: EncodedBatch, batch_size: int
) -> torch.Tensor:
    """The classification output's probabilities [n]."""
    index = classification_index(model.outputs)
    if index is None:
        raise ValueError("the model has no classification output")
    return torch.sigmoid(predict(model, batch, batch_size)[:, index])
