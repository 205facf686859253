"""Builders for the Feast tests: snapshot Parquet files written directly in the extract's
format, and a brute-force point-in-time join to compare the stores against."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.unit.conftest import T0
from trainplat.doris.snapshot_file import TIME_TYPE, arrow_schema
from trainplat.tasks.result import FeatureKind


@dataclass(frozen=True)
class Row:
    uuid: str
    seconds: float
    features: dict[str, Any]
    is_tag: bool = False
    node_id: str = "1"


def write_snapshots(path: Path, rows: list[Row], kinds: dict[str, FeatureKind]) -> Path:
    schema = arrow_schema(kinds)
    micros = [int((T0 + timedelta(seconds=r.seconds)).timestamp() * 1_000_000) for r in rows]
    columns = [
        pa.array([r.uuid for r in rows], pa.string()),
        pa.array([r.node_id for r in rows], pa.string()),
        pa.array(micros, pa.int64()).cast(TIME_TYPE),
        pa.array([r.is_tag for r in rows], pa.bool_()),
    ]
    for key, kind in kinds.items():
        values = [r.features.get(key) for r in rows]
        columns.append(pa.array(values, pa.float64() if kind == "numeric" else pa.string()))
    pq.write_table(pa.Table.from_arrays(columns, schema=schema), path)
    return path


def brute_force_join(
    labels: pd.DataFrame, features: pd.DataFrame, keys: list[str], ttl: timedelta | None
) -> pd.DataFrame:
    """For each label row, the row of `features` with the greatest `time` <= its
    `event_timestamp` (null when none, or older than `ttl`); loops, no cleverness."""
    columns = [c for c in features.columns if c not in (*keys, "time")]
    out: dict[str, list[Any]] = {c: [] for c in columns}
    for _, label in labels.iterrows():
        match = features
        for key in keys:
            match = match[match[key] == label[key]]
        match = match[match["time"] <= label["event_timestamp"]]
        if ttl is not None:
            match = match[match["time"] >= label["event_timestamp"] - ttl]
        best = match.loc[match["time"].idxmax()] if len(match) else None
        for column in columns:
            out[column].append(None if best is None else best[column])
    result = labels.reset_index(drop=True).copy()
    for column in columns:
        result[column] = pd.array(out[column], dtype="float64")
    return result


def random_tables(
    seed: int, entities: int, rows: int, labels: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    # Distinct times per entity (ties are resolved arbitrarily by every store).
    times = rng.choice(10 * rows, size=rows, replace=False)
    features = pd.DataFrame(
        {
            "uuid": rng.integers(0, entities, rows).astype(str),
            "time": pd.to_datetime(times, unit="s", utc=True) + (T0 - pd.Timestamp(0, tz="UTC")),
            "x": rng.normal(size=rows),
            "y": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(size=rows)),
        }
    )
    label_times = rng.integers(-100, 11 * rows, labels)
    label_frame = pd.DataFrame(
        {
            "uuid": rng.integers(0, entities + 2, labels).astype(str),
            "event_timestamp": pd.to_datetime(label_times, unit="s", utc=True)
            + (T0 - pd.Timestamp(0, tz="UTC")),
        }
    )
    return label_frame, features
