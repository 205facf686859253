"""Binary classification metrics in numpy (no scikit-learn in the data plane)."""

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_EPSILON = 1e-7


def roc_auc(labels: IntArray, scores: FloatArray) -> float:
    """Mann-Whitney form: the probability that a random positive outscores a random
    negative, ties counting half (average ranks)."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC is undefined when the labels hold a single class")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, dtype=np.float64)
    # Average rank (1-based) over each run of tied scores.
    starts = np.flatnonzero(np.concatenate(([True], sorted_scores[1:] != sorted_scores[:-1])))
    ends = np.concatenate((starts[1:], [scores.size]))
    run_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(run_rank, ends - starts)
    positive_rank_sum = float(ranks[labels == 1].sum())
    return (positive_rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def accuracy(labels: IntArray, probabilities: FloatArray, threshold: float = 0.5) -> float:
    return float(((probabilities >= threshold).astype(np.int64) == labels).mean())


def log_loss(labels: IntArray, probabilities: FloatArray) -> float:
    clipped = np.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
    return float(-(labels * np.log(clipped) + (1 - labels) * np.log(1.0 - clipped)).mean())
