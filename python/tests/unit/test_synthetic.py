import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from trainplat.doris.source import SqliteSource
from trainplat.synthetic.__main__ import main
from trainplat.synthetic.generator import LABEL_KEY, SyntheticConfig, generate

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, tzinfo=UTC)


def config(**overrides: object) -> SyntheticConfig:
    values: dict[str, object] = {"start": START, "end": END, "entities": 200, "seed": 3}
    values.update(overrides)
    return SyntheticConfig(**values)  # type: ignore[arg-type]


def test_generate_is_deterministic_by_seed() -> None:
    first = list(generate(config()).snapshot_rows())
    again = list(generate(config()).snapshot_rows())
    other = list(generate(config(seed=4)).snapshot_rows())

    assert first == again
    assert first != other


def test_generate_rows_are_ordered_and_inside_the_range() -> None:
    snapshots = generate(config())
    rows = list(snapshots.snapshot_rows())

    assert all(START.isoformat()[:10] <= row.time[:10] < END.isoformat()[:10] for row in rows)
    keys = [(snapshots.entity[i], snapshots.time_us[i]) for i in range(snapshots.rows)]
    assert keys == sorted(keys)
    assert len({row.uuid for row in rows}) == 200


@pytest.mark.parametrize("features", [10, 37, 50])
def test_generate_feature_count(features: int) -> None:
    rows = list(generate(config(features=features)).snapshot_rows())
    keys = set().union(*(json.loads(row.features) for row in rows)) - {LABEL_KEY}
    kinds = {type(value) for row in rows[:50] for value in json.loads(row.features).values()}

    assert len(keys) == features
    assert {float, str} <= kinds


@pytest.mark.parametrize("features", [9, 51])
def test_generate_rejects_feature_count_out_of_range(features: int) -> None:
    with pytest.raises(ValueError, match="features"):
        config(features=features)


def test_generate_tags_a_fraction_with_labels_and_leaves_values_missing() -> None:
    snapshots = generate(config(tag_fraction=0.25, missing_fraction=0.1))
    rows = list(snapshots.snapshot_rows())
    tagged = [row for row in rows if row.is_tag]

    assert 0.22 < len(tagged) / len(rows) < 0.28
    assert all(json.loads(row.features)[LABEL_KEY] in (0, 1) for row in tagged)
    assert not any(LABEL_KEY in json.loads(row.features) for row in rows if not row.is_tag)
    assert 0.08 < np.isnan(snapshots.numeric).mean() < 0.12


def _rule_direction(z: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Least-squares direction of the label on the standardised features."""
    design = np.column_stack((z, np.ones(len(z))))
    coefficients, *_ = np.linalg.lstsq(design, label - label.mean(), rcond=None)
    direction: np.ndarray = coefficients[:-1] / np.linalg.norm(coefficients[:-1])
    return direction


@pytest.mark.parametrize(("drift", "similar"), [(0.0, True), (1.0, False)])
def test_drift_changes_the_label_rule_over_time(drift: float, similar: bool) -> None:
    snapshots = generate(config(entities=1500, drift=drift, features=20, seed=11))
    early, late = snapshots.tau < 0.25, snapshots.tau >= 0.75
    label = snapshots.label.astype(np.float64)

    cosine = float(
        _rule_direction(snapshots.z[early], label[early])
        @ _rule_direction(snapshots.z[late], label[late])
    )

    assert (cosine > 0.85) if similar else (cosine < 0.6), cosine


def test_recurring_drift_alternates_between_the_start_and_end_worlds() -> None:
    snapshots = generate(config(drift=1.0, recurring=4, snapshots_per_entity=30))

    phase = np.floor(snapshots.tau * 4).astype(np.int64)
    means = np.array([snapshots.z[phase == p].mean(axis=0) for p in range(4)])

    # Same entities in every phase: their base values cancel in the differences.
    assert np.abs(means[2] - means[0]).max() < 0.15
    assert np.abs(means[3] - means[1]).max() < 0.15
    assert np.abs(means[1] - means[0]).max() > 0.5  # the end world's shifted means


def test_drift_brings_unseen_categories_late() -> None:
    snapshots = generate(config(drift=1.0, entities=500))
    early = set(snapshots.categorical[snapshots.tau < 0.2, 0].tolist())
    late = set(snapshots.categorical[snapshots.tau > 0.8, 0].tolist())

    assert late - early


def test_cli_writes_rows_and_prints_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "doris.sqlite"
    argv = ["--out", str(out), "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-08T00:00:00Z"]

    code = main([*argv, "--entities", "20", "--features", "12", "--seed", "1", "--drift", "0.5"])

    printed = capsys.readouterr().out.strip()
    with SqliteSource.open_existing(out) as source:
        count = source.count_window(START, END)
    assert code == 0
    assert printed.startswith(f"wrote {count} rows")
    assert count > 0
