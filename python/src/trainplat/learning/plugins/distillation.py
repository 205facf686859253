"""Learning without Forgetting (Li & Hoiem, 2016): distil the frozen parent's predictions
on the new data into the model being trained, so it keeps answering as the parent did
where the new labels do not say otherwise.

For one binary output with temperature T the term is
`alpha * T^2 * KL(sigmoid(parent / T) || sigmoid(model / T))`, averaged over the batch: zero
when the model agrees with the parent, and with the T^2 scaling of Hinton et al. (2015) so
its gradient does not shrink as T grows."""

import copy
from typing import Literal

import torch
from pydantic import Field
from torch.nn import functional
from typing_extensions import override

from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel
from trainplat.learning.plugins.base import PluginConfig, TrainingPlugin


class DistillationConfig(PluginConfig):
    type: Literal["lwf"] = "lwf"
    temperature: float = Field(2.0, gt=0.0, le=100.0)
    alpha: float = Field(1.0, ge=0.0)


def binary_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """KL(Bernoulli(sigmoid(teacher)) || Bernoulli(sigmoid(student))) per element, stable."""
    p = torch.sigmoid(teacher_logits)
    log_p, log_not_p = functional.logsigmoid(teacher_logits), functional.logsigmoid(-teacher_logits)
    log_q, log_not_q = functional.logsigmoid(student_logits), functional.logsigmoid(-student_logits)
    return p * (log_p - log_q) + (1.0 - p) * (log_not_p - log_not_q)


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
        self, model: TransformerTimeSeriesModel, batch: EncodedBatch, logits: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if self._teacher is None:
            raise RuntimeError("before_training was not called")
        with torch.no_grad():
            teacher_logits = self._teacher(
                batch.numeric, batch.categorical, batch.log_age, batch.padding
            )
        t = self.config.temperature
        kl = binary_kl(teacher_logits / t, logits / t).mean()
        term = self.config.alpha * t * t * kl
        self._last = float(term.detach())
        return {"distillation": term}

    @override
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]:
        self._teacher = None
        return {"distillation_loss": self._last}
