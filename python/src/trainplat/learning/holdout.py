"""A deterministic split of a training set by entity: an entity's rows are held out when
crc32(uuid) falls in the first `fraction` of the hash range. Every task that is given the
same fraction agrees on the split (the update trains on the rest, the evaluation scores the
held-out rows), and no held-out entity is ever trained on in that window."""

import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq

from trainplat.datasets.training_set_file import TrainingSetData


def holdout_mask(path: Path, fraction: float) -> npt.NDArray[np.bool_]:
    """True on the rows of held-out entities."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError("holdout fraction must be in [0, 1)")
    uuids = pq.read_table(path, columns=["uuid"]).column("uuid").to_pylist()
    limit = fraction * 2**32
    return np.fromiter((zlib.crc32(str(u).encode()) < limit for u in uuids), dtype=np.bool_)


def select_rows(data: TrainingSetData, rows: npt.NDArray[np.bool_]) -> TrainingSetData:
    return TrainingSetData(
        schema=dict(data.schema),
        config=dict(data.config),
        label_time_us=data.label_time_us[rows],
        label=data.label[rows],
        age_seconds=data.age_seconds[rows],
        valid=data.valid[rows],
        numeric={name: values[rows] for name, values in data.numeric.items()},
        categorical={name: values[rows] for name, values in data.categorical.items()},
        entity=None if data.entity is None else data.entity[rows],
    )
