"""Combining training sets and encoded batches: several windows as one stream of rows."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from trainplat.datasets.training_set_file import TrainingSetData
from trainplat.learning.encoding import EncodedBatch
from trainplat.tasks.result import FeatureKind


def concat_batches(batches: Sequence[EncodedBatch]) -> EncodedBatch:
    if not batches:
        raise ValueError("nothing to concatenate")
    return EncodedBatch(
        numeric=torch.cat([b.numeric for b in batches]),
        categorical=torch.cat([b.categorical for b in batches]),
        log_age=torch.cat([b.log_age for b in batches]),
        padding=torch.cat([b.padding for b in batches]),
        targets=torch.cat([b.targets for b in batches]),
    )


def concat_training_sets(sets: Sequence[TrainingSetData]) -> TrainingSetData:
    """Rows of every set in order; a feature absent from a set is missing in its rows."""
    if not sets:
        raise ValueError("nothing to concatenate")
    histories = {s.valid.shape[1] for s in sets}
    if len(histories) != 1:
        raise ValueError(f"training sets differ in history length: {sorted(histories)}")
    schema: dict[str, FeatureKind] = {}
    for part in sets:
        for name, kind in part.schema.items():
            if schema.setdefault(name, kind) != kind:
                raise ValueError(f"feature {name!r} is numeric in one set, categorical in another")

    def column(name: str, part: TrainingSetData) -> npt.NDArray[Any]:
        if schema[name] == "numeric":
            return part.numeric.get(name, np.full(part.valid.shape, np.nan))
        absent = np.full(part.valid.shape, None, dtype=object)
        return part.categorical.get(name, absent)

    return TrainingSetData(
        schema=schema,
        config=dict(sets[0].config),
        label_time_us=np.concatenate([s.label_time_us for s in sets]),
        label=np.concatenate([s.label for s in sets]),
        age_seconds=np.concatenate([s.age_seconds for s in sets]),
        valid=np.concatenate([s.valid for s in sets]),
        numeric={
            n: np.concatenate([column(n, s) for s in sets])
            for n, k in schema.items()
            if k == "numeric"
        },
        categorical={
            n: np.concatenate([column(n, s) for s in sets])
            for n, k in schema.items()
            if k == "categorical"
        },
        entity=_concat_entities(sets),
    )


def _concat_entities(sets: Sequence[TrainingSetData]) -> npt.NDArray[np.object_] | None:
    entities = [s.entity for s in sets]
    if any(e is None for e in entities):
        return None
    return np.concatenate([e for e in entities if e is not None])
