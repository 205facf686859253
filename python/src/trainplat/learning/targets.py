"""Targets of the numeric outputs (`trainplat.learning.outputs`), read from a training set
so that no output sees anything its target is made of.

A training-set row is an entity `e` labelled at time `t`; its history holds `e`'s latest
snapshots at or before `t`, right-aligned, contiguous (`trainplat.datasets.windows`).

Regression of numeric feature `f`: the value of `f` in the row's label-time snapshot (the
last position of its history). The encoder hides that value from the model's inputs (marks
it missing, for every output of the model), so the model predicts it from `f`'s earlier
values and the other features at and before `t`. No target where `f` is missing there.

Forecast of `f` with horizon `h` seconds: the as-of value of `f` at `t + h`, i.e. the value
of `f` in `e`'s latest snapshot at or before `t + h` that has one: what a point-in-time
lookup at `t + h` returns. The inputs are the row's history (nothing after `t`), so the model
never sees the target's snapshot unless it is the one at `t` (an entity with no newer value
of `f` by `t + h`: then persistence is the right answer). The value is taken from the same
training set: from the history of `e`'s first row labelled at or after `t + h`, which, being
contiguous, holds every snapshot of `e` back to its oldest position. A row has no forecast
target when there is no such later row (the last `h` of a window, an entity that stops being
labelled) or its history does not reach back to a value of `f` at or before `t + h`. Each
training set is encoded on its own, so targets never come from another window. A flat Feast
training set (a history of one position) rarely has any."""

import numpy as np
import numpy.typing as npt

from trainplat.datasets.training_set_file import TrainingSetData

FloatArray = npt.NDArray[np.float64]


def regression_targets(data: TrainingSetData, feature: str) -> FloatArray:
    values = data.numeric.get(feature)
    if values is None:
        return np.full(data.rows, np.nan)
    return np.asarray(values[:, -1], dtype=np.float64)


def forecast_targets(data: TrainingSetData, feature: str, horizon_seconds: float) -> FloatArray:
    targets = np.full(data.rows, np.nan)
    values = data.numeric.get(feature)
    if values is None or data.rows == 0:
        return targets
    if data.entity is None:
        raise ValueError("forecast outputs need each row's entity (the training set's uuid)")
    wanted_us = (data.label_time_us + horizon_seconds * 1e6).astype(np.float64)
    source = _first_row_at_or_after(data.entity, data.label_time_us, wanted_us)
    rows = np.flatnonzero(source >= 0)
    later = source[rows]
    snapshot_us = data.label_time_us[later, None] - data.age_seconds[later] * 1e6
    usable = data.valid[later] & ~np.isnan(values[later]) & (snapshot_us <= wanted_us[rows, None])
    found = usable.any(axis=1)
    history = usable.shape[1]
    last = history - 1 - np.argmax(usable[:, ::-1], axis=1)  # latest usable position
    targets[rows[found]] = values[later[found], last[found]]
    return targets


def _first_row_at_or_after(
    uuids: npt.NDArray[np.object_], label_time_us: npt.NDArray[np.int64], wanted_us: FloatArray
) -> npt.NDArray[np.int64]:
    """For each row, the index of its entity's first row labelled at or after `wanted_us`,
    or -1."""
    _, entity = np.unique(uuids.astype(str), return_inverse=True)
    order = np.lexsort((label_time_us, entity))
    starts = np.flatnonzero(np.diff(entity[order], prepend=-1) != 0)
    source = np.full(entity.size, -1, dtype=np.int64)
    for group in np.split(order, starts[1:]):
        times = label_time_us[group]
        position = np.searchsorted(times, wanted_us[group], side="left")
        inside = position < group.size
        source[group[inside]] = group[position[inside]]
    return source
