"""The extension point of the training loop (Avalanche-style): a plugin sees the model
before training starts, adds named terms to every step's loss, and reports what it did when
training ends. Each plugin is paired with a pydantic config whose `type` names it."""

from abc import ABC, abstractmethod

import torch
from pydantic import BaseModel, ConfigDict

from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.model import TransformerTimeSeriesModel


class PluginConfig(BaseModel):
    """Base of every plugin config; subclasses add `type: Literal[...]` and their knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainingPlugin(ABC):
    """Called by `trainplat.learning.loop.fit` in this order: `before_training` once (with
    the model as it starts, e.g. the parent, and all the data it will train on),
    `loss_terms` on every mini-batch (with the model's [n, outputs] predictions for it and
    the batch's row numbers in that data; the returned tensors are added to the task loss),
    `after_training` once (metrics to report)."""

    @abstractmethod
    def before_training(self, model: TransformerTimeSeriesModel, data: EncodedBatch) -> None: ...

    @abstractmethod
    def loss_terms(
        self,
        model: TransformerTimeSeriesModel,
        batch: EncodedBatch,
        predictions: torch.Tensor,
        rows: torch.Tensor,
    ) -> dict[str, torch.Tensor]: ...

    @abstractmethod
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]: ...
