"""Output heads: classification, regression and forecast targets, losses, distillation and
metrics; the outputs through the train, evaluate, update and evaluate_windows tasks."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from tests.unit.conftest import WINDOW_END as END
from tests.unit.conftest import WINDOW_START as START
from tests.unit.conftest import SourceFactory, extract_two_windows, new_context, snapshot
from trainplat.datasets.training_set import build_training_set
from trainplat.datasets.training_set_file import TrainingSetData, read_training_set
from trainplat.doris.extract import extract
from trainplat.learning.checkpoint import load_checkpoint
from trainplat.learning.encoding import EncodedBatch, FeatureEncoder
from trainplat.learning.evaluate import evaluate
from trainplat.learning.evaluate_windows import evaluate_windows
from trainplat.learning.incremental_update import incremental_update
from trainplat.learning.loop import fit
from trainplat.learning.model import TransformerTimeSeriesModel, predict
from trainplat.learning.outputs import (
    ClassificationOutput,
    ForecastOutput,
    Output,
    RegressionOutput,
    distillation_loss,
    task_loss,
)
from trainplat.learning.plugins.distillation import DistillationConfig, DistillationPlugin
from trainplat.learning.train import TrainArgs, train
from trainplat.synthetic.generator import SyntheticConfig

HISTORY = 4
HOUR = 3600.0


def toy_batch(rows: int, *, seed: int, informative: int) -> EncodedBatch:
    """Target = 0.8 * numeric feature `informative` at the last position + 0.1 (normalised)."""
    generator = torch.Generator().manual_seed(seed)
    numeric = torch.randn(rows, HISTORY, 3, generator=generator)
    return EncodedBatch(
        numeric=numeric,
        categorical=torch.zeros(rows, HISTORY, 1, dtype=torch.int64),
        log_age=torch.rand(rows, HISTORY, generator=generator),
        padding=torch.zeros(rows, HISTORY, dtype=torch.bool),
        targets=(0.8 * numeric[:, -1, informative] + 0.1).unsqueeze(1),
    )


def toy_model(outputs: tuple[Output, ...], seed: int = 0) -> TransformerTimeSeriesModel:
    torch.manual_seed(seed)
    return TransformerTimeSeriesModel(
        numeric_mean=[0.0] * 3, numeric_std=[1.0] * 3, vocabulary_sizes=[2], d_model=16,
        heads=2, layers=1, dropout=0.0, outputs=outputs,
    )  # fmt: skip


REGRESSION: tuple[Output, ...] = (RegressionOutput(feature="y"),)


def test_regression_head_learns_a_linear_target() -> None:
    torch.set_num_threads(1)
    data, test = toy_batch(512, seed=1, informative=0), toy_batch(256, seed=2, informative=0)
    model = toy_model(REGRESSION)
    before = float(task_loss(REGRESSION, predict(model, test, 256), test.targets))

    fit(model, data, epochs=30, seed=0, batch_size=64, learning_rate=1e-2)

    after = float(task_loss(REGRESSION, predict(model, test, 256), test.targets))
    # The target's variance is 0.64; a model that learnt the rule is far below it.
    assert after < 0.05 < before, (before, after)


def test_distillation_keeps_a_regression_child_near_its_parent() -> None:
    torch.set_num_threads(1)
    old, new = toy_batch(256, seed=3, informative=0), toy_batch(256, seed=4, informative=1)
    parent = toy_model(REGRESSION)
    fit(parent, old, epochs=10, seed=0, batch_size=64, learning_rate=1e-2)
    reference = predict(parent, old, 256)

    def fine_tune(alpha: float) -> float:
        child = toy_model(REGRESSION)
        child.load_state_dict(parent.state_dict())
        plugin = DistillationPlugin(config=DistillationConfig(alpha=alpha))
        fit(child, new, plugins=[plugin], epochs=10, seed=0, batch_size=64, learning_rate=1e-2)
        return float(((predict(child, old, 256) - reference) ** 2).mean())

    naive, distilled = fine_tune(0.0), fine_tune(2.0)

    assert distilled < 0.5 * naive, (distilled, naive)


def test_task_loss_weights_outputs_and_skips_rows_without_a_target() -> None:
    outputs: tuple[Output, ...] = (
        ClassificationOutput(weight=1.0),
        RegressionOutput(feature="y", weight=0.5),
    )
    predictions = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, float("nan")]])

    loss = float(task_loss(outputs, predictions, targets))

    # BCE of logit 0 is log 2 for either label; the MSE counts only the first row: (1-0)^2.
    assert loss == pytest.approx(np.log(2.0) + 0.5 * 1.0)
    assert float(task_loss(outputs[1:], predictions[1:, 1:], targets[1:, 1:])) == 0.0


def test_distillation_loss_is_mse_for_numeric_outputs_and_kl_for_classification() -> None:
    outputs: tuple[Output, ...] = (ClassificationOutput(), RegressionOutput(feature="y"))
    teacher = torch.tensor([[2.0, 1.0], [-1.0, 0.0]])
    student = teacher + torch.tensor([[0.0, 1.0], [0.0, -1.0]])  # same logits, moved values

    loss = float(distillation_loss(outputs, student, teacher, temperature=2.0))

    assert loss == pytest.approx(1.0)
    assert float(distillation_loss(outputs, teacher, teacher, temperature=2.0)) == 0.0


def test_output_arguments_are_validated_with_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "set.parquet"
    path.write_bytes(b"")

    def args(outputs: list[dict[str, object]]) -> TrainArgs:
        return TrainArgs.model_validate({"training_set": str(path), "outputs": outputs})

    parsed = args([{"type": "classification"}, {"type": "forecast", "feature": "x",
                   "horizon_seconds": 60, "weight": 0.5}])  # fmt: skip
    assert [o.type for o in parsed.outputs] == ["classification", "forecast"]
    assert ForecastOutput(feature="a.b", horizon_seconds=1.5).name == "forecast_a_b_1_5s"
    with pytest.raises(ValidationError, match="feature"):
        args([{"type": "regression"}])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        args([{"type": "regression", "feature": "x", "horizont": 1}])
    with pytest.raises(ValidationError, match="repeat"):
        args([{"type": "classification"}, {"type": "classification", "weight": 2}])
    with pytest.raises(ValidationError, match="at least one"):
        args([])
    with pytest.raises(ValidationError, match="'classification', 'regression', 'forecast'"):
        args([{"type": "ranking"}])


def _series(make_source: SourceFactory, tmp_path: Path, history: int) -> TrainingSetData:
    """Entity a: a snapshot every hour at t = 0..7 h with x = 10 t, tagged at every hour;
    x is missing at t = 5 h. Entity b: one tagged snapshot at t = 1 h."""
    rows = [
        snapshot("a", t * HOUR, {"x": None if t == 5 else 10.0 * t, "label": t % 2}, is_tag=True)
        for t in range(8)
    ]
    rows.append(snapshot("b", HOUR, {"x": 99.0, "label": 1}, is_tag=True))
    source = make_source(rows)
    context = new_context(tmp_path, f"x{history}")
    extracted = extract(context, source=source, start=START, end=END)
    built = build_training_set(
        new_context(tmp_path, f"t{history}"),
        snapshots=Path(str(extracted.outputs["snapshots"])),
        history=history,
    )
    return read_training_set(Path(str(built.outputs["training_set"])))


def _raw_targets(data: TrainingSetData, output: Output) -> dict[tuple[str, float], float]:
    """(entity, label hour) -> target in feature units, for the rows that have one."""
    encoder = FeatureEncoder.fit(data, (output,))
    scaled = encoder.encode(data).targets[:, 0].double().numpy()
    raw = scaled * encoder.numeric_std[0] + encoder.numeric_mean[0]
    assert data.entity is not None
    hours = (data.label_time_us - data.label_time_us.min()) / 3.6e9
    return {
        (str(e), round(float(h), 3)): round(float(v), 3)
        for e, h, v in zip(data.entity, hours, raw, strict=True)
        if not np.isnan(v)
    }


def test_forecast_target_is_the_value_as_of_the_horizon(
    make_source: SourceFactory, tmp_path: Path
) -> None:
    data = _series(make_source, tmp_path, history=3)

    two_hours = _raw_targets(data, ForecastOutput(feature="x", horizon_seconds=2 * HOUR))
    ninety_minutes = _raw_targets(data, ForecastOutput(feature="x", horizon_seconds=1.5 * HOUR))

    # t + 2 h, except: x missing at 5 h (as of 5 h it is still x(4 h) = 40), no row at or
    # after 8 h and 9 h, and entity b has no later row at all.
    assert two_hours == {("a", 0.0): 20.0, ("a", 1.0): 30.0, ("a", 2.0): 40.0,
                         ("a", 3.0): 40.0, ("a", 4.0): 60.0, ("a", 5.0): 70.0}  # fmt: skip
    # as of t + 1.5 h is the snapshot at t + 1 h (found in the history of the row at t + 2 h)
    assert ninety_minutes[("a", 0.0)] == 10.0
    assert ninety_minutes[("a", 3.0)] == 40.0
    assert ("a", 6.0) not in ninety_minutes  # the row at 8 h does not exist


def test_forecast_needs_a_later_history_that_reaches_back(
    make_source: SourceFactory, tmp_path: Path
) -> None:
    data = _series(make_source, tmp_path, history=1)

    targets = _raw_targets(data, ForecastOutput(feature="x", horizon_seconds=1.5 * HOUR))

    # The row at t + 2 h holds only its own snapshot, later than t + 1.5 h: the value as of
    # t + 1.5 h is not in the training set, so there is no target rather than a wrong one.
    assert targets == {}


def test_regression_target_is_hidden_from_the_inputs(
    make_source: SourceFactory, tmp_path: Path
) -> None:
    data = _series(make_source, tmp_path, history=3)
    encoder = FeatureEncoder.fit(data, (ClassificationOutput(), RegressionOutput(feature="x")))

    batch = encoder.encode(data)
    targets = _raw_targets(data, RegressionOutput(feature="x"))

    assert targets[("a", 3.0)] == 30.0
    assert ("a", 5.0) not in targets  # x missing at its label time
    assert bool(batch.numeric[:, -1, 0].isnan().all())  # never an input at the label time
    assert not bool(batch.numeric[:, -2, 0].isnan().all())  # earlier values still are
    assert batch.targets[:, 0].tolist() == data.label.astype(float).tolist()


def test_outputs_must_name_numeric_features(make_source: SourceFactory, tmp_path: Path) -> None:
    data = _series(make_source, tmp_path, history=2)

    with pytest.raises(ValueError, match=r"not numeric features .*numeric: \['x'\]"):
        FeatureEncoder.fit(data, (RegressionOutput(feature="nope"),))


def test_encoders_saved_before_outputs_load_as_one_classification() -> None:
    document = {"numeric": {"x": {"mean": 1.0, "std": 2.0}}, "vocabularies": {"c": ["a"]}}

    encoder = FeatureEncoder.from_json(document)

    assert encoder.outputs == (ClassificationOutput(),)
    assert FeatureEncoder.from_json(encoder.to_json()) == encoder


MULTI: tuple[Output, ...] = (
    ClassificationOutput(),
    RegressionOutput(feature="num_00", weight=0.5),
    ForecastOutput(feature="num_01", horizon_seconds=86400.0, weight=0.5),
)


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("outputs")
    config = SyntheticConfig(
        start=START, end=END, entities=80, features=10, seed=2, drift=0.5,
        snapshots_per_entity=20, tag_fraction=0.4,
    )  # fmt: skip
    paths = {}
    for name, snapshots in extract_two_windows(root, config).items():
        built = build_training_set(new_context(root, f"t-{name}"), snapshots=snapshots, history=4)
        paths[name] = Path(str(built.outputs["training_set"]))
    return paths


def test_outputs_through_train_evaluate_update_and_evaluate_windows(
    tmp_path: Path, windows: dict[str, Path]
) -> None:
    torch.set_num_threads(1)
    trained = train(
        new_context(tmp_path, "train"), training_set=windows["early"], epochs=1, d_model=8,
        batch_size=128, outputs=MULTI,
    )  # fmt: skip
    model = Path(str(trained.outputs["model"]))

    scored = evaluate(new_context(tmp_path, "evaluate"), model=model, training_set=windows["late"])
    child = incremental_update(
        new_context(tmp_path, "update"), parent_model=model, training_set=windows["late"],
        earlier_sets=(windows["early"],), epochs=1, batch_size=128, replay_size=64,
    )  # fmt: skip
    child_model = Path(str(child.outputs["model"]))
    compared = evaluate_windows(
        new_context(tmp_path, "windows"), model=child_model, newest=windows["late"],
        earlier=(windows["early"],), parent_model=model,
    )  # fmt: skip

    forecast = "forecast_num_01_86400s"
    assert {"train_auc", "train_regression_num_00_mae", f"train_{forecast}_rmse"} <= set(
        trained.metrics
    )
    manifest = json.loads((tmp_path / "train" / "manifest.json").read_text())
    assert [o["type"] for o in manifest["config"]["outputs"]] == [o.type for o in MULTI]
    assert {"auc", "regression_num_00_mae", f"{forecast}_mae", f"{forecast}_rows"} <= set(
        scored.metrics
    )
    # a day ahead inside a ten-day window: most rows have a target, the last day's do not
    assert 0 < scored.metrics[f"{forecast}_rows"] < scored.metrics["rows"]
    assert load_checkpoint(child_model)[1].outputs == MULTI  # the child keeps the outputs
    metrics = compared.metrics
    assert metrics[f"forgetting_{forecast}_mae"] == pytest.approx(
        metrics[f"earlier_{forecast}_mae"] - metrics[f"parent_earlier_{forecast}_mae"]
    )
    assert metrics["newest_gain_regression_num_00_rmse"] == pytest.approx(
        metrics["parent_newest_regression_num_00_rmse"] - metrics["newest_regression_num_00_rmse"]
    )
    assert "forgetting_auc" in metrics
