"""Scoring a model on a training set: every output's metrics (`outputs.prediction_metrics`)
with the model's own encoder, as the task programs and the benchmark report them."""

from trainplat.datasets.training_set_file import TrainingSetData
from trainplat.learning.encoding import FeatureEncoder
from trainplat.learning.model import TransformerTimeSeriesModel, predict
from trainplat.learning.outputs import prediction_metrics


def score(
    model: TransformerTimeSeriesModel,
    encoder: FeatureEncoder,
    data: TrainingSetData,
    batch_size: int = 1024,
) -> dict[str, float]:
    """`rows`, then per output: `auc` (when both classes occur), `accuracy`, `log_loss` for
    the classification; `<name>_rows`, `<name>_mae`, `<name>_rmse` for numeric outputs."""
    batch = encoder.encode(data)
    predictions = predict(model, batch, batch_size).cpu()  # the metrics are numpy
    metrics = prediction_metrics(model.outputs, predictions, batch.targets, encoder.output_scales())
    return {"rows": float(data.rows), **metrics}


def training_metrics(
    model: TransformerTimeSeriesModel, encoder: FeatureEncoder, data: TrainingSetData
) -> dict[str, float]:
    """`score` on the training data itself, every name prefixed `train_`."""
    return {f"train_{name}": value for name, value in score(model, encoder, data).items()}
