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
    the model as it starts, e.g. the parent, and all the data it will train on, both on the
    training device), then on every mini-batch `extra_rows` and `loss_terms` (with the
    model's [n, outputs] predictions for the batch, the batch's row numbers in that data and
    the predictions for this plugin's extra rows; the returned tensors are added to the task
    loss), `after_training` once (metrics to report). State kept across steps lives on the
    model's device and is read back (e.g. a loss for the metrics) only at the end."""

    @abstractmethod
    def before_training(self, model: TransformerTimeSeriesModel, data: EncodedBatch) -> None: ...

    def extra_rows(self, batch: EncodedBatch) -> EncodedBatch | None:  # noqa: ARG002 (default)
        """Rows (on the model's device) to predict in the same forward pass as this step's
        `batch`, e.g. remembered rows to rehearse; their predictions come back to
        `loss_terms` as `extra`. None (the default): no rows."""
        return None

    @abstractmethod
    def loss_terms(
        self,
        model: TransformerTimeSeriesModel,
        batch: EncodedBatch,
        predictions: torch.Tensor,
        rows: torch.Tensor,
        *,
        extra: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]: ...

    @abstractmethod
    def after_training(self, model: TransformerTimeSeriesModel) -> dict[str, float]: ...
