"""Learning without Forgetting (Li & Hoiem, 2016): distil the frozen parent's predictions
on the new data into the model being trained, so it keeps answering as the parent did
where the new labels do not say otherwise.

The term is `alpha * outputs.distillation_loss`, summed over the outputs with their loss
weights: for a classification output `T^2 * KL(sigmoid(parent / T) || sigmoid(model / T))`
(temperature T; the T^2 of Hinton et al. (2015) keeps its gradient from shrinking as T
grows), for a regression or forecast output the squared difference between the model's and
the parent's normalised predictions; averaged over the batch, zero where the model agrees
with the parent.

The parent is frozen and runs in eval mode (no dropout), so its predictions on the new data
are computed once, in `before_training`, and looked up per batch: the same term as a
teacher forward pass on every step, at the cost of one pass over the data."""

from typing import Literal

import torch
from pydantic import Field
from typing_extensions import override

from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel, predict
from trainplat.learning.outputs import distillation_loss
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin


class DistillationConfig(PluginConfig):
    type: Literal["lwf"] = "lwf"
    temperature: float = Field(2.0, gt=0.0, le=100.0)
    alpha: float = Field(1.0, ge=0.0)


class DistillationPlugin(TrainingPlugin):
    def __init__(self, *, config: DistillationConfig) -> None:
        self.config = config
        self._teacher: torch.Tensor | None = None  # the parent's predictions on the data
        self._last = torch.zeros(())

    @override
    def before_training(self, model: TransformerTimeSeriesModel, data: EncodedBatch) -> None:
        was_training = model.training
        # clone: predict() answers inference tensors, which autograd may not save. They are
        # on the model's device, where the batches' predictions are.
        self._teacher = predict(model, data, 1024).clone()
        model.train(was_training)

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
        if self._teacher is None:
            raise RuntimeError("before_training was not called")
        gap = distillation_loss(
            model.outputs, predictions, self._teacher[rows], temperature=self.config.temperature
        )
        term = self.config.alpha * gap
        self._last = term.detach()
        return {"distillation": term}

    @override
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]:
        self._teacher = None
        return {"distillation_loss": float(self._last)}
