"""Plugins of the incremental-learning loop on tiny in-memory data (no files)."""

import copy

import numpy as np
import pytest
import torch

from trainplat.learning.encoding import EncodedBatch
from trainplat.learning.loop import fit
from trainplat.learning.model import TransformerTimeSeriesModel, predict_probabilities
from trainplat.learning.outputs import distillation_loss, task_loss
from trainplat.learning.plugins import (
    DistillationConfig,
    EwcConfig,
    ReplayConfig,
    TrainingPlugin,
    build_plugin,
)
from trainplat.learning.plugins.distillation import DistillationPlugin
from trainplat.learning.plugins.ewc import EwcPlugin
from trainplat.learning.plugins.replay import reservoir_sample
from trainplat.learning.plugins.reservoir import ReservoirBuffer

HISTORY = 4


def toy_batch(rows: int, *, seed: int, informative: int) -> EncodedBatch:
    """Label = sign of numeric feature `informative` at the last position (the "rule")."""
    generator = torch.Generator().manual_seed(seed)
    numeric = torch.randn(rows, HISTORY, 3, generator=generator)
    return EncodedBatch(
        numeric=numeric,
        categorical=torch.randint(0, 5, (rows, HISTORY, 1), generator=generator),
        log_age=torch.rand(rows, HISTORY, generator=generator),
        padding=torch.zeros(rows, HISTORY, dtype=torch.bool),
        targets=(numeric[:, -1, informative] > 0).float().unsqueeze(1),
    )


def toy_model(seed: int = 0) -> TransformerTimeSeriesModel:
    torch.manual_seed(seed)
    return TransformerTimeSeriesModel(
        numeric_mean=[0.0] * 3,
        numeric_std=[1.0] * 3,
        vocabulary_sizes=[5],
        d_model=8,
        heads=2,
        layers=1,
        dropout=0.0,
    )


def _logits(model: TransformerTimeSeriesModel, batch: EncodedBatch) -> torch.Tensor:
    result: torch.Tensor = model(batch.numeric, batch.categorical, batch.log_age, batch.padding)
    return result


def _perturbed(model: TransformerTimeSeriesModel, scale: float) -> None:
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))


def test_fit_takes_adamw_steps_over_its_seeded_batch_order() -> None:
    # setup: the same model twice; one for fit, one for a plain loop of torch's AdamW
    # (unfused, the reference) over the batch order fit's seed gives
    data = toy_batch(96, seed=3, informative=0)
    trained, reference = toy_model(), toy_model()
    optimiser = torch.optim.AdamW(reference.parameters(), lr=1e-2)
    order = torch.Generator().manual_seed(5)
    # act
    fit(trained, data, epochs=2, seed=5, batch_size=32, learning_rate=1e-2)
    for _epoch in range(2):
        for index in torch.split(torch.randperm(data.rows, generator=order), 32):
            optimiser.zero_grad()
            part = data.select(index)
            torch.autograd.backward(task_loss(reference.outputs, reference.run(part), part.targets))
            optimiser.step()
    # check: the same function, up to float rounding. (Not every weight: the gradient of the
    # attention's key bias is zero but for rounding, which Adam scales up to full steps.)
    torch.testing.assert_close(
        _logits(trained, data), _logits(reference, data), atol=1e-5, rtol=1e-4
    )


def test_reservoir_holds_a_bounded_uniform_sample() -> None:
    # setup: 1000 independent reservoirs of 20 over a stream of 200 ids, offered in chunks
    stream, capacity, trials = 200, 20, 1000
    counts = np.zeros(stream)
    # act
    for trial in range(trials):
        buffer = ReservoirBuffer(capacity=capacity, seed=trial)
        for chunk in np.array_split(np.arange(stream, dtype=np.int64), 3):
            buffer.offer(chunk)
        held = buffer.items
        assert held.size == capacity
        assert np.unique(held).size == capacity
        counts[held] += 1
    # check: each id held with probability capacity / stream; chi-square with 199 d.o.f.
    # has mean 199 and sd ~20, so 300 is a 5-sigma bound for a fixed seed.
    expected = trials * capacity / stream
    chi_square = float(((counts - expected) ** 2 / expected).sum())
    assert chi_square < 300, chi_square
    assert counts[:100].sum() == pytest.approx(counts[100:].sum(), rel=0.05)  # no order bias


def test_reservoir_keeps_everything_until_full() -> None:
    buffer = ReservoirBuffer(capacity=10, seed=0)

    buffer.offer(np.arange(4, dtype=np.int64))

    assert buffer.items.tolist() == [0, 1, 2, 3]
    assert buffer.seen == 4


def test_replay_sample_spans_earlier_windows_and_is_bounded() -> None:
    windows = [toy_batch(30, seed=s, informative=0) for s in (1, 2)]

    sample = reservoir_sample(windows, size=25, seed=0)

    assert sample is not None
    assert sample.rows == 25
    assert reservoir_sample([], size=5, seed=0) is None


def test_ewc_penalty_is_zero_at_the_parent_and_grows_away_from_it() -> None:
    model = toy_model()
    earlier = [toy_batch(64, seed=2, informative=0)]
    plugin = EwcPlugin(config=EwcConfig(lambda_=10.0), earlier=earlier)
    plugin.before_training(model, earlier[0])
    at_parent = float(plugin.penalty(model).detach())

    _perturbed(model, 0.01)
    near = float(plugin.penalty(model).detach())
    _perturbed(model, 0.01)  # twice as far along the same direction
    far = float(plugin.penalty(model).detach())

    assert at_parent == 0.0
    assert 0.0 < near < far
    assert far == pytest.approx(4 * near, rel=0.01)  # quadratic in the distance


def test_distillation_term_is_zero_at_the_parent_and_positive_away() -> None:
    model, batch = toy_model(), toy_batch(32, seed=3, informative=0)
    plugin = DistillationPlugin(config=DistillationConfig(temperature=2.0, alpha=1.0))
    plugin.before_training(model, batch)
    rows = torch.arange(32)
    at_parent = plugin.loss_terms(model, batch, _logits(model, batch), rows)["distillation"]

    _perturbed(model, 0.3)
    away = plugin.loss_terms(model, batch, _logits(model, batch), rows)["distillation"]

    assert float(at_parent.detach()) == pytest.approx(0.0, abs=1e-7)
    assert float(away.detach()) > 1e-4


def test_parent_predictions_computed_once_give_the_term_of_a_teacher_pass_per_step() -> None:
    # setup: a parent with dropout (so train and eval mode differ), a frozen copy of it as
    # the per-step teacher, and the model moved away from it as training would
    torch.manual_seed(0)
    model = TransformerTimeSeriesModel(
        numeric_mean=[0.0] * 3, numeric_std=[1.0] * 3, vocabulary_sizes=[5], d_model=8,
        heads=2, layers=1, dropout=0.3,
    )  # fmt: skip
    teacher, data = copy.deepcopy(model).eval(), toy_batch(48, seed=6, informative=2)
    plugin = DistillationPlugin(config=DistillationConfig(temperature=3.0, alpha=0.7))
    model.train()
    plugin.before_training(model, data)
    _perturbed(model, 0.2)
    rows = torch.tensor([40, 3, 17, 3, 29])  # any order, repeats allowed
    part = data.select(rows)
    predictions = model.run(part)
    # act
    term = plugin.loss_terms(model, part, predictions, rows)["distillation"]
    # check
    with torch.no_grad():
        per_step = distillation_loss(model.outputs, predictions, teacher.run(part), temperature=3.0)
    torch.testing.assert_close(term, 0.7 * per_step)
    assert model.training  # before_training left the mode as it found it


def test_plugins_switch_their_loss_terms_on_and_off() -> None:
    data, earlier = toy_batch(64, seed=4, informative=1), [toy_batch(64, seed=5, informative=0)]

    def run(*configs: DistillationConfig | ReplayConfig | EwcConfig) -> dict[str, float]:
        plugins: list[TrainingPlugin] = [build_plugin(c, earlier=earlier) for c in configs]
        report = fit(
            toy_model(), data, plugins=plugins, epochs=1, seed=0, batch_size=32,
            learning_rate=1e-2,
        )  # fmt: skip
        return {**report.terms, **report.plugin_metrics}

    plain = run()
    everything = run(DistillationConfig(), ReplayConfig(size=16), EwcConfig(lambda_=1.0))

    assert set(plain) == {"task"}
    assert {"task", "distillation", "replay", "ewc", "replay_rows"} <= set(everything)
    assert plain["task"] == pytest.approx(everything["task"], rel=0.2)  # same first step
    assert everything["replay"] > 0.0
    assert everything["replay_rows"] == 16.0


def test_distillation_keeps_old_predictions_closer_than_naive_fine_tuning() -> None:
    # setup: a parent fitted on the old rule; a new window whose rule reads another feature
    old, new = toy_batch(256, seed=6, informative=0), toy_batch(256, seed=7, informative=1)
    parent = toy_model()
    fit(parent, old, epochs=6, seed=0, batch_size=64, learning_rate=1e-2)
    reference = predict_probabilities(parent, old, 256)

    def fine_tune(*plugins: TrainingPlugin) -> float:
        child = toy_model()
        child.load_state_dict(parent.state_dict())
        fit(child, new, plugins=plugins, epochs=6, seed=0, batch_size=64, learning_rate=1e-2)
        return float((predict_probabilities(child, old, 256) - reference).abs().mean())

    # act
    naive = fine_tune()
    distilled = fine_tune(DistillationPlugin(config=DistillationConfig(alpha=2.0)))
    # check
    assert distilled < naive, (distilled, naive)


def test_replayed_rows_share_the_forward_pass_and_score_as_on_their_own() -> None:
    # setup: one step per epoch (a batch of all 32 new rows) rehearsing all 16 remembered
    # rows, no dropout: each term is the loss at the starting weights
    torch.set_num_threads(1)
    data, earlier = toy_batch(32, seed=8, informative=1), toy_batch(16, seed=9, informative=0)
    model = toy_model(seed=2)
    start = toy_model(seed=2)
    replay = build_plugin(ReplayConfig(size=16, weight=0.5), earlier=[earlier])
    # act
    report = fit(model, data, plugins=[replay], epochs=1, seed=0, batch_size=32,
                 learning_rate=1e-2)  # fmt: skip
    # check: against separate passes over each set
    with torch.no_grad():
        task = task_loss(start.outputs, start.run(data), data.targets)
        remembered = task_loss(start.outputs, start.run(earlier), earlier.targets)
    assert report.terms["task"] == pytest.approx(float(task), rel=1e-5)
    assert report.terms["replay"] == pytest.approx(0.5 * float(remembered), rel=1e-5)
    assert float(task) != pytest.approx(float(remembered), rel=1e-3)  # the two are told apart
