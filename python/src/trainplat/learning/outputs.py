"""Output heads: what the model predicts, chosen by config (one or more, with loss weights).

| `type` (name) | target | loss | metrics |
| --- | --- | --- | --- |
| `classification` | the set's 0/1 `label` | BCE | `auc`, `accuracy`, `log_loss` |
| `regression` (`regression_<f>`) | `feature` f at the label time | MSE | `<name>_mae`, `_rmse` |
| `forecast` (`forecast_<f>_<h>s`) | f as of `horizon_seconds` h later | MSE | same |

Targets are defined precisely in `trainplat.learning.targets`. Numeric targets are learnt
on the scale of the feature's normalisation statistics (those of the encoder, saved with the
model), so the MSE of different features is comparable and weights mean the same thing;
metrics are reported in the feature's own units. A row without a target for an output (a
missing value, no later snapshot) adds nothing to that output's loss or metrics.

The model computes one value per output from the same pooled representation (a column of
its last linear layer each); with the default single classification output its weights have
the shapes and names of every checkpoint written before outputs could be chosen."""

from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from torch.nn import functional

from trainplat.learning.metrics import accuracy, log_loss, roc_auc


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(1.0, gt=0.0, le=1000.0)  # of this output's loss in the total


class ClassificationOutput(_Output):
    type: Literal["classification"] = "classification"

    @property
    def name(self) -> str:
        return "classification"


class RegressionOutput(_Output):
    type: Literal["regression"] = "regression"
    feature: str = Field(min_length=1)

    @property
    def name(self) -> str:
        return _metric_name(f"regression_{self.feature}")


class ForecastOutput(_Output):
    type: Literal["forecast"] = "forecast"
    feature: str = Field(min_length=1)
    horizon_seconds: float = Field(gt=0.0, le=10 * 366 * 86400.0)

    @property
    def name(self) -> str:
        return _metric_name(f"forecast_{self.feature}_{self.horizon_seconds:g}s")


def _metric_name(name: str) -> str:
    """Without dots: promotion gates read metrics by dotted path (`evaluation.<name>_mae`)."""
    return name.replace(".", "_")


Output = ClassificationOutput | RegressionOutput | ForecastOutput
NumericOutput = RegressionOutput | ForecastOutput
# For pydantic fields (task arguments, the encoder's JSON): the `type` picks the class.
OutputField = Annotated[Output, Field(discriminator="type")]
DEFAULT_OUTPUTS: tuple[Output, ...] = (ClassificationOutput(),)
_OUTPUTS_ADAPTER: TypeAdapter[tuple[OutputField, ...]] = TypeAdapter(tuple[OutputField, ...])


def check_outputs(outputs: Sequence[Output]) -> tuple[Output, ...]:
    """Raises ValueError unless there is at least one output, names are unique and at most
    one is a classification (a training set has one label)."""
    if not outputs:
        raise ValueError("outputs must name at least one output")
    names = [output.name for output in outputs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"outputs repeat {duplicates}")
    return tuple(outputs)


def outputs_from_json(document: object) -> tuple[Output, ...]:
    return check_outputs(_OUTPUTS_ADAPTER.validate_python(document))


def outputs_to_json(outputs: Sequence[Output]) -> list[dict[str, object]]:
    return [output.model_dump() for output in outputs]


def classification_index(outputs: Sequence[Output]) -> int | None:
    return next(
        (i for i, output in enumerate(outputs) if isinstance(output, ClassificationOutput)), None
    )


def task_loss(
    outputs: Sequence[Output], predictions: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Sum over outputs of weight * (BCE or MSE) over the rows that have a target.
    predictions and targets are [n, outputs]; a NaN target means "none"."""
    total = torch.zeros((), dtype=predictions.dtype, device=predictions.device)
    for index, output in enumerate(outputs):
        target = targets[:, index]
        present = ~torch.isnan(target)
        if not bool(present.any()):
            continue
        predicted, target = predictions[present, index], target[present]
        if isinstance(output, ClassificationOutput):
            loss = functional.binary_cross_entropy_with_logits(predicted, target)
        else:
            loss = functional.mse_loss(predicted, target)
        total = total + output.weight * loss
    return total


def binary_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """KL(Bernoulli(sigmoid(teacher)) || Bernoulli(sigmoid(student))) per element, stable."""
    p = torch.sigmoid(teacher_logits)
    log_p, log_not_p = functional.logsigmoid(teacher_logits), functional.logsigmoid(-teacher_logits)
    log_q, log_not_q = functional.logsigmoid(student_logits), functional.logsigmoid(-student_logits)
    return p * (log_p - log_q) + (1.0 - p) * (log_not_p - log_not_q)


def distillation_loss(
    outputs: Sequence[Output],
    student: torch.Tensor,
    teacher: torch.Tensor,
    *,
    temperature: float,
) -> torch.Tensor:
    """How far the student's outputs are from the teacher's, weighted like the task loss:
    `T^2 * KL(sigmoid(teacher/T) || sigmoid(student/T))` for a classification output (the
    T^2 of Hinton et al. keeps its gradient from shrinking as T grows), the MSE between the
    two (normalised) predictions for a numeric output. Zero where they agree."""
    total = torch.zeros((), dtype=student.dtype, device=student.device)
    t = temperature
    for index, output in enumerate(outputs):
        if isinstance(output, ClassificationOutput):
            term = t * t * binary_kl(teacher[:, index] / t, student[:, index] / t).mean()
        else:
            term = functional.mse_loss(student[:, index], teacher[:, index])
        total = total + output.weight * term
    return total


def prediction_metrics(
    outputs: Sequence[Output],
    predictions: torch.Tensor,
    targets: torch.Tensor,
    scales: Sequence[float],
) -> dict[str, float]:
    """Metrics of [n, outputs] raw predictions against the encoded targets. `scales` holds
    each output's normalisation std, which turns a normalised error back into the feature's
    units (ignored for a classification). Classification: `accuracy`, `log_loss`, and `auc` when
    both classes occur; numeric outputs: `<name>_rows`, and `<name>_mae`, `<name>_rmse`
    when it has rows."""
    metrics: dict[str, float] = {}
    for index, output in enumerate(outputs):
        target = targets[:, index].double().numpy()
        present = ~np.isnan(target)
        predicted = predictions[:, index].double().numpy()[present]
        if isinstance(output, ClassificationOutput):
            labels = target[present].astype(np.int64)
            probabilities = 1.0 / (1.0 + np.exp(-predicted))
            metrics["accuracy"] = accuracy(labels, probabilities)
            metrics["log_loss"] = log_loss(labels, probabilities)
            if 0 < labels.sum() < labels.size:
                metrics["auc"] = roc_auc(labels, probabilities)
            continue
        error = (predicted - target[present]) * scales[index]  # the mean cancels out
        metrics[f"{output.name}_rows"] = float(error.size)
        if error.size:
            metrics[f"{output.name}_mae"] = float(np.abs(error).mean())
            metrics[f"{output.name}_rmse"] = float(np.sqrt((error * error).mean()))
    return metrics


def error_metric_names(outputs: Sequence[Output]) -> list[str]:
    """The lower-is-better metrics of the numeric outputs (`<name>_mae`, `<name>_rmse`)."""
    return [
        f"{output.name}_{kind}"
        for output in outputs
        if not isinstance(output, ClassificationOutput)
        for kind in ("mae", "rmse")
    ]
