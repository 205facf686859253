"""Elastic Weight Consolidation (Kirkpatrick et al., 2017): a quadratic penalty that keeps
each weight near the parent's value in proportion to how much the parent's data cares
about it, `lambda_ / 2 * sum_i F_i (theta_i - theta*_i)^2`, with F the diagonal of the
empirical Fisher information at the parent's weights theta*.

F is estimated as in Avalanche: squared gradients of the mean loss over mini-batches of the
earlier data (eval mode, no dropout), averaged over the batches."""

from collections.abc import Sequence
from typing import Literal

import torch
from pydantic import Field
from typing_extensions import override

from trainplat.learning.data import concat_batches
from trainplat.learning.device import model_device
from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.outputs import task_loss
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin


class EwcConfig(PluginConfig):
    type: Literal["ewc"] = "ewc"
    lambda_: float = Field(100.0, ge=0.0)
    fisher_rows: int = Field(2048, ge=1)  # earlier rows used to estimate F (a seeded sample)
    fisher_batch_size: int = Field(32, ge=1)
    seed: int = 0


def fisher_diagonal(
    model: TransformerTimeSeriesModel, data: EncodedBatch, *, batch_size: int
) -> dict[str, torch.Tensor]:
    was_training = model.training
    model.eval()
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    batches = 0
    for index in torch.split(torch.arange(data.rows), batch_size):
        part = data.select(index)
        model.zero_grad(set_to_none=True)
        loss = task_loss(model.outputs, model.run(part), part.targets)
        if not loss.requires_grad:  # no output has a target in this batch
            continue
        torch.autograd.backward(loss)
        for name, parameter in model.named_parameters():
            if parameter.grad is not None:
                fisher[name] += parameter.grad.detach() ** 2
        batches += 1
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {name: value / max(batches, 1) for name, value in fisher.items()}


class EwcPlugin(TrainingPlugin):
    def __init__(self, *, config: EwcConfig, earlier: Sequence[EncodedBatch]) -> None:
        self.config = config
        self._data = concat_batches(earlier) if earlier else None
        self._anchor: dict[str, torch.Tensor] = {}
        self._fisher: dict[str, torch.Tensor] = {}
        self._last = torch.zeros(())

    @override
    def before_training(self, model: TransformerTimeSeriesModel, data: EncodedBatch) -> None:
        # Anchors and F are copies of the parameters, so they live on the model's device.
        self._anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
        if self._data is None:
            self._fisher = {n: torch.zeros_like(p) for n, p in self._anchor.items()}
            return
        rows = self._data.rows
        draw = torch.Generator().manual_seed(self.config.seed)
        chosen = torch.randperm(rows, generator=draw)[: self.config.fisher_rows]
        sample = self._data.select(chosen).to(model_device(model))
        self._fisher = fisher_diagonal(model, sample, batch_size=self.config.fisher_batch_size)

    def penalty(self, model: TransformerTimeSeriesModel) -> torch.Tensor:
        total = torch.zeros((), device=model_device(model))
        for name, parameter in model.named_parameters():
            if name in self._fisher:
                delta = parameter - self._anchor[name]
                total = total + (self._fisher[name] * delta * delta).sum()
        return 0.5 * self.config.lambda_ * total

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
        term = self.penalty(model)
        self._last = term.detach()
        return {"ewc": term}

    @override
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]:
        return {"ewc_penalty": float(self._last)}
