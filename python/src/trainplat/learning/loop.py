"""The training loop with plugins: mini-batch AdamW on the outputs' weighted task loss
(`outputs.task_loss`: BCE for a classification, MSE for numeric outputs) plus whatever terms
the plugins add. Deterministic given the seed: the batch order comes from a generator
of its own, so it does not depend on how the model was initialised."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

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
    """Trains `model` in place on `batch`."""
    for plugin in plugins:
        plugin.before_training(model, batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    shuffle = torch.Generator().manual_seed(seed)
    rows = batch.rows
    loss_mean, term_means = float("nan"), dict[str, float]()
    for epoch in range(epochs):
        model.train()
        total, sums = 0.0, dict[str, float]()
        for index in torch.split(torch.randperm(rows, generator=shuffle), batch_size):
            part = batch.select(index)
            optimiser.zero_grad()
            predictions = model.run(part)
            terms = {"task": task_loss(model.outputs, predictions, part.targets)}
            for plugin in plugins:
                terms.update(plugin.loss_terms(model, part, predictions, index))
            loss = torch.stack(list(terms.values())).sum()
            torch.autograd.backward(loss)
            optimiser.step()
            weight = int(index.numel())
            total += float(loss.detach()) * weight
            for name, term in terms.items():
                sums[name] = sums.get(name, 0.0) + float(term.detach()) * weight
        loss_mean = total / max(rows, 1)
        term_means = {name: value / max(rows, 1) for name, value in sums.items()}
        if on_epoch is not None:
            on_epoch(epoch + 1, epochs, loss_mean, term_means)
    plugin_metrics: dict[str, float] = {}
    for plugin in plugins:
        plugin_metrics.update(plugin.after_training(model))
    return FitReport(loss=loss_mean, terms=term_means, plugin_metrics=plugin_metrics)
