"""Experience replay: a bounded reservoir sample of the rows of earlier training sets
(windows), rehearsed alongside the new data. Every step draws `batch_fraction` times as
many remembered rows as the step's batch holds (rounded up; 1.0 = as many, 0.5, the
default, = half, which costs half the extra forward and backward work) and adds
`weight * task loss` on them (`outputs.task_loss`, all outputs with their weights).

The sample is encoded once, as tensors on the training device; each step draws row numbers
with torch and hands the rows to the loop (`extra_rows`), which predicts them in the same
forward pass as the new batch. Rehearsal still costs what the extra rows cost to compute:
with `batch_fraction` 1.0 a step works on twice the rows. The default, half a batch, is
the benchmark's trade between rehearsal and time (docs/incremental-learning.md)."""

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from pydantic import Field
from typing_extensions import override

from trainplat.learning.data import concat_batches
from trainplat.learning.device import model_device
from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.outputs import task_loss
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin
from trainplat.learning.plugins.reservoir import ReservoirBuffer


class ReplayConfig(PluginConfig):
    type: Literal["replay"] = "replay"
    size: int = Field(2000, ge=1, le=10_000_000)
    weight: float = Field(1.0, ge=0.0)
    batch_fraction: float = Field(0.5, gt=0.0, le=10.0)  # remembered rows per new row
    seed: int = 0


def reservoir_sample(
    earlier: Sequence[EncodedBatch], *, size: int, seed: int
) -> EncodedBatch | None:
    """A uniform sample of at most `size` rows over all `earlier` batches, taken as one
    stream in order (the oldest window first); None when there are no rows."""
    buffer = ReservoirBuffer(capacity=size, seed=seed)
    offsets = np.cumsum([0] + [b.rows for b in earlier])
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
        # Encoded once, as tensors; moved to the training device in before_training.
        self.memory = reservoir_sample(earlier, size=config.size, seed=config.seed)
        self._draw = torch.Generator().manual_seed(config.seed)
        self._part: EncodedBatch | None = None  # this step's remembered rows
        self._last = torch.zeros(())

    @override
    def before_training(self, model: TransformerTimeSeriesModel, data: EncodedBatch) -> None:
        self._draw.manual_seed(self.config.seed)
        if self.memory is not None:
            self.memory = self.memory.to(model_device(model))

    @override
    def extra_rows(self, batch: EncodedBatch) -> EncodedBatch | None:
        if self.memory is None:
            return None
        held = self.memory.rows
        count = min(held, math.ceil(self.config.batch_fraction * batch.rows))
        # Drawn on the CPU (the same rows on every device for a seed), used where the rows are.
        chosen = torch.randperm(held, generator=self._draw)[:count]
        self._part = self.memory.select(chosen.to(self.memory.targets.device))
        return self._part

    @override
    def loss_terms(
        self,
        model: TransformerTimeSeriesModel,
        batch: EncodedBatch,
        predictions: torch.Tensor,
        rows: torch.Tensor,
        *,
        extra: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        if self.memory is None:
            return {}
        if self._part is None or extra is None:
            raise RuntimeError("loss_terms needs the predictions for this step's extra_rows")
        term = self.config.weight * task_loss(model.outputs, extra, self._part.targets)
        self._part, self._last = None, term.detach()
        return {"replay": term}

    @override
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]:
        rows = 0 if self.memory is None else self.memory.rows
        return {"replay_rows": float(rows), "replay_loss": float(self._last)}
