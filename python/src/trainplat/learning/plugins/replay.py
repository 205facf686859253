"""Experience replay: a bounded reservoir sample of the rows of earlier training sets
(windows), rehearsed alongside the new data. Every step draws as many remembered rows as
the step's batch holds and adds `weight * BCE` on them to the loss."""

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from pydantic import Field
from torch.nn import functional
from typing_extensions import override

from trainplat.learning.data import concat_batches
from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin
from trainplat.learning.plugins.reservoir import ReservoirBuffer


class ReplayConfig(PluginConfig):
    type: Literal["replay"] = "replay"
    size: int = Field(2000, ge=1, le=10_000_000)
    weight: float = Field(1.0, ge=0.0)
    seed: int = 0


def reservoir_sample(
    earlier: Sequence[EncodedBatch], *, size: int, seed: int
) -> EncodedBatch | None:
    """A uniform sample of at most `size` rows over all `earlier` batches, taken as one
    stream in order (the oldest window first); None when there are no rows."""
    buffer = ReservoirBuffer(capacity=size, seed=seed)
    offsets = np.cumsum([0] + [int(b.label.numel()) for b in earlier])
    for index in range(len(earlier)):
        buffer.offer(np.arange(offsets[index], offsets[index + 1], dtype=np.int64))
    chosen = np.sort(buffer.items)
    if chosen.size == 0:
        return None
    source = np.searchsorted(offsets, chosen, side="right") - 1
    parts = [
        earlier[s].select(torch.from_numpy(chosen[source == s] - offsets[s]))
        for s in np.unique(source)
    ]
    return concat_batches(parts)


class ReplayPlugin(TrainingPlugin):
    def __init__(self, *, config: ReplayConfig, earlier: Sequence[EncodedBatch]) -> None:
        self.config = config
        self.memory = reservoir_sample(earlier, size=config.size, seed=config.seed)
        self._draw = torch.Generator().manual_seed(config.seed)
        self._last = 0.0

    @override
    def before_training(self, model: TransformerTimeSeriesModel) -> None:
        self._draw.manual_seed(self.config.seed)

    @override
    def loss_terms(
        self, model: TransformerTimeSeriesModel, batch: EncodedBatch, logits: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if self.memory is None:
            return {}
        held = int(self.memory.label.numel())
        count = min(held, int(batch.label.numel()))
        part = self.memory.select(torch.randperm(held, generator=self._draw)[:count])
        replayed = model(part.numeric, part.categorical, part.log_age, part.padding)
        term = self.config.weight * functional.binary_cross_entropy_with_logits(
            replayed, part.label
        )
        self._last = float(term.detach())
        return {"replay": term}

    @override
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]:
        rows = 0 if self.memory is None else int(self.memory.label.numel())
        return {"replay_rows": float(rows), "replay_loss": self._last}
