"""Learning without Forgetting (Li & Hoiem, 2016): distil the frozen parent's predictions
on the new data into the model being trained, so it keeps answering as the parent did
where the new labels do not say otherwise.

The term is `alpha * outputs.distillation_loss`, summed over the outputs with their loss
weights: for a classification output `T^2 * KL(sigmoid(parent / T) || sigmoid(model / T))`
(temperature T; the T^2 of Hinton et al. (2015) keeps its gradient from shrinking as T
grows), for a regression or forecast output the squared difference between the model's and
the parent's normalised predictions; averaged over the batch, zero where the model agrees
with the parent."""

import copy
from typing import Literal

import torch
from pydantic import Field
from typing_extensions import override

from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.outputs import distillation_loss
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin


class DistillationConfig(PluginConfig):
    type: Literal["lwf"] = "lwf"
    temperature: float = Field(2.0, gt=0.0, le=100.0)
    alpha: float = Field(1.0, ge=0.0)


class DistillationPlugin(TrainingPlugin):
    def __init__(self, *, config: DistillationConfig) -> None:
        self.config = config
        self._teacher: TransformerTimeSeriesModel | None = None
        self._last = 0.0

    @override
    def before_training(self, model: TransformerTimeSeriesModel) -> None:
        teacher = copy.deepcopy(model)  # a frozen copy: the caller's model stays trainable
        teacher.eval()
        teacher.requires_grad_(False)
        self._teacher = teacher

    @override
    def loss_terms(
        self, model: TransformerTimeSeriesModel, batch: EncodedBatch, predictions: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if self._teacher is None:
            raise RuntimeError("before_training was not called")
        with torch.no_grad():
            teacher = self._teacher.run(batch)
        gap = distillation_loss(
            model.outputs, predictions, teacher, temperature=self.config.temperature
        )
        term = self.config.alpha * gap
        self._last = float(term.detach())
        return {"distillation": term}

    @override
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]:
        self._teacher = None
        return {"distillation_loss": self._last}
