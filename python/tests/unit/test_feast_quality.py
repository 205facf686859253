"""Quality checks on crafted training sets: each defect moves the score and names its check."""

import numpy as np
import pyarrow as pa

from trainplat.datasets.quality import assess_quality
from trainplat.tasks.result import FeatureKind

FEATURES: dict[str, FeatureKind] = {"x": "numeric", "c": "categorical"}


def _table(n: int = 400, seed: int = 0, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "uuid": [f"u{i}" for i in range(n)],
            "label": (np.arange(n) % 2).astype(np.int8),
            "x": rng.normal(size=n) + shift,
            "c": [f"v{i % 3}" for i in range(n)],
        }
    )


def test_feast_quality_clean_set_scores_high() -> None:
    report = assess_quality(_table(), features=FEATURES, reference=_table(seed=1))
    assert report.failed == []
    assert report.score >= 0.9


def test_feast_quality_each_defect_fails_its_check() -> None:
    clean = _table()
    all_null = clean.set_column(2, "x", pa.nulls(clean.num_rows, pa.float64()))
    one_class = clean.set_column(1, "label", pa.array(np.zeros(clean.num_rows, np.int8)))
    duplicated = pa.concat_tables([clean, clean.slice(0, 100)])
    cases = {
        "completeness": assess_quality(all_null, features=FEATURES),
        "label_balance": assess_quality(one_class, features=FEATURES),
        "duplicates": assess_quality(duplicated, features=FEATURES),
        "drift": assess_quality(_table(shift=2.0), features=FEATURES, reference=_table(seed=1)),
    }
    baseline = assess_quality(clean, features=FEATURES).score
    for check, report in cases.items():
        assert report.failed == [check], check
        assert report.score < baseline, check
        assert report.checks[check].passed is False
