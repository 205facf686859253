"""Point-in-time-correct history windows for labelled snapshots."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Windows:
    """For each label row, `rows[i]` indexes its history, right-aligned: the last position is
    the latest snapshot at or before the label time. `valid[i, j]` is False on the padding
    in front of entities with fewer than `history` snapshots (whose `rows` entry is 0)."""

    label_rows: IntArray  # [n]
    rows: IntArray  # [n, history]
    valid: BoolArray  # [n, history]


def history_windows(
    entity: IntArray, time_us: IntArray, is_label: BoolArray, history: int
) -> Windows:
    """`entity` and `time_us` must be sorted by (entity, time). A window ends at the last
    snapshot of the entity whose time is <= the label time, so snapshots sharing the label's
    timestamp are included whatever their order, and nothing later ever is."""
    if history < 1:
        raise ValueError("history must be at least 1")
    count = entity.size
    if count == 0:
        empty = np.zeros((0, history), dtype=np.int64)
        return Windows(label_rows=empty[:, 0], rows=empty, valid=empty.astype(np.bool_))
    same_as_next = np.zeros(count, dtype=np.bool_)
    same_as_next[:-1] = (entity[1:] == entity[:-1]) & (time_us[1:] == time_us[:-1])
    # Index of the last row of each row's (entity, time) run.
    run_last = np.flatnonzero(~same_as_next)
    run_of_row = np.concatenate(([0], np.cumsum(~same_as_next[:-1])))
    last_at_time = run_last[run_of_row]
    # Index of the first row of each row's entity.
    entity_starts = np.ones(count, dtype=np.bool_)
    entity_starts[1:] = entity[1:] != entity[:-1]
    first_of_entity = np.flatnonzero(entity_starts)[np.cumsum(entity_starts) - 1]

    label_rows = np.flatnonzero(is_label).astype(np.int64)
    ends = last_at_time[label_rows]
    rows = ends[:, None] - np.arange(history - 1, -1, -1, dtype=np.int64)[None, :]
    valid = rows >= first_of_entity[label_rows][:, None]
    return Windows(label_rows=label_rows, rows=np.where(valid, rows, 0), valid=valid)
