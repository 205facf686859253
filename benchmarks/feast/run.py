"""Point-in-time join, side by side: the trainplat offline store (DuckDB ASOF JOIN, through
Feast's get_historical_features) vs Feast's own duckdb (ibis) and dask stores vs a plain
DuckDB ASOF JOIN. Medians of --repeats runs; results compared with the baseline.

    ../../.venv/bin/python run.py --labels 10000 --rows 50000 --repeats 3
(Feast's duckdb store needs the `bench` extra: pip install -e 'python[bench]')."""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig, ValueType
from feast.types import Float64, String

FEATURES = [f"f{i}" for i in range(5)]


def make_data(folder: Path, labels: int, rows: int, seed: int) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    entities = max(rows // 50, 1)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    span = 30 * 86400 * 1_000_000
    frame = pd.DataFrame(
        {
            "uuid": rng.integers(0, entities, rows).astype(str),
            "time": start + pd.to_timedelta(rng.choice(span, rows, replace=False), unit="us"),
            **{name: rng.normal(size=rows) for name in FEATURES},
        }
    )
    path = folder / "snapshots.parquet"
    frame.to_parquet(path)
    entity_df = pd.DataFrame(
        {
            "uuid": rng.integers(0, entities, labels).astype(str),
            "event_timestamp": start + pd.to_timedelta(rng.integers(0, span, labels), unit="us"),
        }
    )
    return path, entity_df


def store(folder: Path, offline: dict[str, str], path: Path) -> FeatureStore:
    config = RepoConfig(
        project="bench",
        provider="local",
        registry={"registry_type": "sql", "path": f"sqlite:///{folder / 'registry.db'}"},
        online_store={"type": "sqlite", "path": str(folder / "online.db")},
        offline_store=offline,
        entity_key_serialization_version=3,
        repo_path=str(folder),
    )
    fs = FeatureStore(config=config)
    uuid = Entity(name="uuid", join_keys=["uuid"], value_type=ValueType.STRING)
    view = FeatureView(
        name="fv",
        entities=[uuid],
        ttl=timedelta(days=7),
        schema=[
            Field(name="uuid", dtype=String),
            *(Field(name=f, dtype=Float64) for f in FEATURES),
        ],
        source=FileSource(path=str(path), timestamp_field="time"),
    )
    fs.apply([uuid, view])
    return fs


def feast_join(fs: FeatureStore, entity_df: pd.DataFrame) -> pd.DataFrame:
    refs = [f"fv:{f}" for f in FEATURES]
    return fs.get_historical_features(entity_df=entity_df, features=refs).to_df()


def baseline(path: Path, entity_df: pd.DataFrame) -> pd.DataFrame:
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("e", entity_df)
        values = ", ".join(
            f"CASE WHEN f.time >= e.event_timestamp - INTERVAL 7 DAY THEN f.{n} END AS {n}"
            for n in FEATURES
        )
        sql = (
            f"SELECT e.uuid, e.event_timestamp, {values} FROM e ASOF LEFT JOIN "
            f"read_parquet('{path}') f ON e.uuid = f.uuid AND e.event_timestamp >= f.time"
        )
        return connection.sql(sql).to_df()


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["uuid", "event_timestamp", *FEATURES]].copy()
    out["event_timestamp"] = pd.to_datetime(out["event_timestamp"], utc=True)
    return out.sort_values(["uuid", "event_timestamp", *FEATURES]).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="engines to leave out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, entity_df = make_data(folder, args.labels, args.rows, seed=0)
        engines: dict[str, Callable[[], pd.DataFrame]] = {
            "duckdb ASOF baseline": lambda: baseline(path, entity_df)
        }
        for name, offline in (
            ("trainplat store", {"type": "trainplat.feast.offline_store.TrainplatOfflineStore"}),
            ("feast duckdb", {"type": "duckdb"}),
            ("feast dask", {"type": "dask"}),
        ):
            if name in args.skip:
                continue
            sub = folder / name.replace(" ", "_")
            sub.mkdir()
            fs = store(sub, offline, path)
            engines[name] = lambda fs=fs: feast_join(fs, entity_df)
        reference = canonical(engines["duckdb ASOF baseline"]())
        print(f"{args.labels} labels x {args.rows} snapshot rows, median of {args.repeats}")
        print("| engine | median s | rows | equal to baseline |\n| --- | --- | --- | --- |")
        for name, run in engines.items():
            times, result = [], None
            for _ in range(args.repeats):
                began = time.perf_counter()
                result = run()
                times.append(time.perf_counter() - began)
            assert result is not None
            same = len(result) == len(reference) and canonical(result).equals(reference)
            print(f"| {name} | {statistics.median(times):.3f} | {len(result)} | {same} |")


if __name__ == "__main__":
    main()
