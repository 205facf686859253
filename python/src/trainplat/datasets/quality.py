"""Quality of a flat training set (one row per label, one column per feature): each check
gives a score in [0, 1] and passes or fails against a threshold; the total is their
weighted mean, rounded to two decimals (the registry's DECIMAL(3,2))."""

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trainplat.tasks.result import FeatureKind, JsonValue

_PSI_BINS = 10
_EPSILON = 1e-6


@dataclass(frozen=True)
class QualityThresholds:
    max_null_rate: float = 0.5  # per feature
    min_minority_share: float = 0.05  # of the rarer label
    max_duplicate_rate: float = 0.01
    max_psi: float = 0.25  # per numeric feature, against the reference
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "completeness": 1.0,
            "label_balance": 1.0,
            "duplicates": 1.0,
            "drift": 1.0,
        }
    )


@dataclass(frozen=True)
class Check:
    score: float
    passed: bool
    threshold: float
    detail: dict[str, JsonValue]


@dataclass(frozen=True)
class QualityReport:
    score: float
    checks: dict[str, Check]

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check.passed]

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "score": self.score,
            "failed": list(self.failed),
            "checks": {
                name: {
                    "score": check.score,
                    "passed": check.passed,
                    "threshold": check.threshold,
                    **check.detail,
                }
                for name, check in self.checks.items()
            },
        }


def _round(value: float) -> float:
    return round(float(value), 4)


def completeness(table: pa.Table, features: dict[str, FeatureKind], limit: float) -> Check:
    rows = max(table.num_rows, 1)
    rates = {key: table.column(key).null_count / rows for key in features}
    # NaN counts as missing for numeric features.
    for key, kind in features.items():
        if kind == "numeric":
            nan = pc.sum(pc.is_nan(pc.fill_null(table.column(key), 0.0))).as_py() or 0
            rates[key] += nan / rows
    worst = max(rates.values(), default=0.0)
    score = 1.0 - float(np.mean(list(rates.values()))) if rates else 1.0
    return Check(
        score=_round(score),
        passed=worst <= limit,
        threshold=limit,
        detail={"null_rates": {k: _round(v) for k, v in rates.items()}},
    )


def label_balance(table: pa.Table, limit: float) -> Check:
    labels = table.column("label").to_numpy(zero_copy_only=False).astype(np.float64)
    positive = float(labels.mean()) if labels.size else 0.0
    minority = min(positive, 1.0 - positive)
    return Check(
        score=_round(min(1.0, minority / 0.5)),
        passed=minority >= limit,
        threshold=limit,
        detail={"positive_rate": _round(positive), "minority_share": _round(minority)},
    )


def duplicates(table: pa.Table, limit: float) -> Check:
    rows = table.num_rows
    distinct = table.group_by(table.column_names).aggregate([]).num_rows if rows else 0
    rate = (rows - distinct) / rows if rows else 0.0
    return Check(
        score=_round(1.0 - rate),
        passed=rate <= limit,
        threshold=limit,
        detail={"duplicate_rate": _round(rate)},
    )


def population_stability(current: np.ndarray, reference: np.ndarray) -> float:
    """PSI over the reference's deciles; NaN values are left out of both."""
    current, reference = current[~np.isnan(current)], reference[~np.isnan(reference)]
    if current.size == 0 or reference.size == 0:
        return 0.0
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, _PSI_BINS + 1)[1:-1]))
    expected = np.bincount(
        np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1
    )
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=edges.size + 1)
    p = np.maximum(expected / reference.size, _EPSILON)
    q = np.maximum(actual / current.size, _EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


def drift(
    table: pa.Table, reference: pa.Table, features: dict[str, FeatureKind], limit: float
) -> Check:
    psi: dict[str, float] = {}
    for key, kind in features.items():
        if kind != "numeric" or key not in reference.column_names:
            continue
        values = table.column(key).to_numpy(zero_copy_only=False).astype(np.float64)
        base = reference.column(key).to_numpy(zero_copy_only=False).astype(np.float64)
        psi[key] = population_stability(values, base)
    worst = max(psi.values(), default=0.0)
    return Check(
        score=_round(max(0.0, 1.0 - worst / (2 * limit))),
        passed=worst <= limit,
        threshold=limit,
        detail={"psi": {k: _round(v) for k, v in psi.items()}, "max_psi": _round(worst)},
    )


def assess_quality(
    table: pa.Table,
    *,
    features: dict[str, FeatureKind],
    reference: pa.Table | None = None,
    thresholds: QualityThresholds | None = None,
) -> QualityReport:
    limits = thresholds or QualityThresholds()
    checks = {
        "completeness": completeness(table, features, limits.max_null_rate),
        "label_balance": label_balance(table, limits.min_minority_share),
        "duplicates": duplicates(table, limits.max_duplicate_rate),
    }
    if reference is not None:
        checks["drift"] = drift(table, reference, features, limits.max_psi)
    weights = {name: limits.weights.get(name, 1.0) for name in checks}
    total = sum(weights[name] * check.score for name, check in checks.items())
    score = total / sum(weights.values())
    # A failed check caps the total below the pass mark of an unblemished set.
    if any(not check.passed for check in checks.values()):
        score = min(score, 0.5)
    return QualityReport(score=round(score, 2), checks=checks)
