"""The training loop with plugins: mini-batch AdamW on the outputs' weighted task loss
(`outputs.task_loss`: BCE for a classification, MSE for numeric outputs) plus whatever terms
the plugins add, with the rows the plugins add (replay) in the same forward pass.
Deterministic given the seed: the batch order comes from a generator of its own, so it does
not depend on how the model was initialised."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from trainplat.learning.data import concat_batches
from trainplat.learning.device import model_device
from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.outputs import task_loss
from trainplat.learning.plugins.base import TrainingPlugin

# (epoch 1-based, epochs, mean total loss, mean of each named term) after every epoch.
EpochCallback = Callable[[int, int, float, dict[str, float]], None]


@dataclass(frozen=True)
class FitReport:
    loss: float  # the last epoch's mean total loss per row
    terms: dict[str, float]  # the last epoch's mean of each term ("task" and the plugins')
    plugin_metrics: dict[str, float] = field(default_factory=dict)


def fit(
    model: TransformerTimeSeriesModel,
    batch: EncodedBatch,
    *,
    plugins: Sequence[TrainingPlugin] = (),
    epochs: int,
    seed: int,
    batch_size: int,
    learning_rate: float,
    on_epoch: EpochCallback | None = None,
) -> FitReport:
    """Trains `model` in place on `batch`, on the model's device: the data is moved there
    once, not a mini-batch at a time, and losses are summed there and read once an epoch
    (reading a GPU value waits for the GPU)."""
    device = model_device(model)
    batch = batch.to(device)
    for plugin in plugins:
        plugin.before_training(model, batch)
    # fused: one kernel updates every parameter, instead of a Python loop of small ops per
    # parameter tensor (on the CPU that loop was ~15 % of a step of the small models here).
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, fused=True)
    # Drawn on the CPU: the same seed gives the same batch order on every device.
    shuffle = torch.Generator().manual_seed(seed)
    rows = batch.rows
    loss_mean, term_means = float("nan"), dict[str, float]()
    for epoch in range(epochs):
        model.train()
        total, sums = torch.zeros((), device=device), dict[str, torch.Tensor]()
        for index in torch.split(torch.randperm(rows, generator=shuffle).to(device), batch_size):
            optimiser.zero_grad()
            terms = step_terms(model, batch.select(index), index, plugins)
            loss = torch.stack(list(terms.values())).sum()
            torch.autograd.backward(loss)
            optimiser.step()
            weight = int(index.numel())
            total += loss.detach() * weight
            for name, term in terms.items():
                weighted = term.detach() * weight
                sums[name] = sums[name] + weighted if name in sums else weighted
        loss_mean = float(total) / max(rows, 1)
        term_means = {name: float(value) / max(rows, 1) for name, value in sums.items()}
        if on_epoch is not None:
            on_epoch(epoch + 1, epochs, loss_mean, term_means)
    plugin_metrics: dict[str, float] = {}
    for plugin in plugins:
        plugin_metrics.update(plugin.after_training(model))
    return FitReport(loss=loss_mean, terms=term_means, plugin_metrics=plugin_metrics)


def step_terms(
    model: TransformerTimeSeriesModel,
    part: EncodedBatch,
    index: torch.Tensor,
    plugins: Sequence[TrainingPlugin],
) -> dict[str, torch.Tensor]:
    """One step's named loss terms. The plugins' extra rows (replay's remembered rows) go
    through the same forward pass as the batch: rows do not interact in the model (attention
    and normalisation are within a row), so each row's prediction is what a pass of its own
    would give, and one pass over more rows costs less than a pass per plugin."""
    extras = [plugin.extra_rows(part) for plugin in plugins]
    added = [extra for extra in extras if extra is not None]
    everything = model.run(concat_batches([part, *added]) if added else part)
    predictions = everything[: part.rows]
    terms = {"task": task_loss(model.outputs, predictions, part.targets)}
    offset = part.rows
    for plugin, extra in zip(plugins, extras, strict=True):
        own = None
        if extra is not None:
            own, offset = everything[offset : offset + extra.rows], offset + extra.rows
        terms.update(plugin.loss_terms(model, part, predictions, index, extra=own))
    return terms
