"""Point-in-time join, side by side: the trainplat offline store (DuckDB ASOF JOIN, through
Feast's get_historical_features) vs Feast's own duckdb (ibis) and dask stores vs a plain
DuckDB ASOF JOIN (two ways of getting its result into pandas). Every engine must return a
pandas DataFrame, and every result is compared with the baseline's.

Each engine runs in a process of its own (spawned), so its peak memory (VmHWM) is its
own; the processes stay up and are asked for one run each in turn, round after round, so a
change in the machine's load (2 shared cores here) falls on every engine alike. An engine
that takes longer than --run-timeout for one run, or whose resident memory passes
--max-rss-gib, is stopped and reported as such.

    ../../.venv/bin/python run.py --labels 10000 --rows 50000 --repeats 3
(Feast's duckdb store needs the `bench` extra: pip install -e 'python[bench]')."""

import argparse
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig, ValueType
from feast.types import Float64, String

FEATURES = [f"f{i}" for i in range(5)]
BASELINE = "duckdb ASOF baseline"
# RepoConfig settings per store. The trainplat store is configured as the repos of
# feast.training_set are (trainplat/feast/repo.py): it makes entity times UTC itself, so
# Feast's coercion, a copy of the frame, is off; Feast's own stores need it.
STORES: dict[str, dict[str, object]] = {
    "trainplat store": {
        "offline_store": {"type": "trainplat.feast.offline_store.TrainplatOfflineStore"},
        "coerce_tz_aware": False,
    },
    "feast duckdb": {"offline_store": {"type": "duckdb"}},
    "feast dask": {"offline_store": {"type": "dask"}},
}
ENGINES = [BASELINE, f"{BASELINE} (via Arrow)", *STORES]
MIB = 1024 * 1024


def make_data(folder: Path, labels: int, rows: int, seed: int) -> tuple[Path, Path]:
    """Snapshot rows (50 per entity on average, distinct times) and label rows, as Parquet."""
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
    labels_path = folder / "labels.parquet"
    entity_df.to_parquet(labels_path)
    return path, labels_path


def read_labels(path: Path) -> pd.DataFrame:
    """The label rows as a caller holds them: nanosecond UTC timestamps (pandas' default)."""
    frame = pd.read_parquet(path)
    frame["event_timestamp"] = frame["event_timestamp"].astype("datetime64[ns, UTC]")
    return frame


def store(folder: Path, settings: dict[str, object], path: Path) -> FeatureStore:
    config = RepoConfig(
        project="bench",
        provider="local",
        registry={"registry_type": "sql", "path": f"sqlite:///{folder / 'registry.db'}"},
        online_store={"type": "sqlite", "path": str(folder / "online.db")},
        entity_key_serialization_version=3,
        repo_path=str(folder),
        **settings,
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


def baseline(path: Path, entity_df: pd.DataFrame, *, via_arrow: bool = False) -> pd.DataFrame:
    """The plain ASOF JOIN with the view's 7-day TTL; no ordering, no Feast."""
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
        relation = connection.sql(sql)
        frame: pd.DataFrame = (
            relation.to_arrow_table().to_pandas() if via_arrow else relation.to_df()
        )
        return frame


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["uuid", "event_timestamp", *FEATURES]].copy()
    out["event_timestamp"] = pd.to_datetime(out["event_timestamp"], utc=True).astype(
        "datetime64[ns, UTC]"
    )
    return out.sort_values(["uuid", "event_timestamp", *FEATURES]).reset_index(drop=True)


def rss_bytes(pid: int | str = "self", field: str = "VmRSS") -> int:
    """Resident memory now (VmRSS) or at its peak (VmHWM). The peak is read here rather
    than from getrusage: ru_maxrss survives exec, so a spawned worker would report at
    least the parent's size when it forked."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def runner(
    name: str, folder: Path, path: Path, entity_df: pd.DataFrame
) -> Callable[[], pd.DataFrame]:
    if name.startswith(BASELINE):
        via_arrow = name != BASELINE
        return lambda: baseline(path, entity_df, via_arrow=via_arrow)
    sub = folder / name.replace(" ", "_")
    sub.mkdir()
    fs = store(sub, STORES[name], path)
    return lambda: feast_join(fs, entity_df)


def worker(connection: Connection, name: str, folder: Path, path: Path, labels: Path) -> None:
    """One engine: set up, report the resident memory, then one timed run per request;
    at the end the last result goes to Parquet for the comparison, and the peak memory
    (taken before writing it) goes back."""
    entity_df = read_labels(labels)
    run = runner(name, folder, path, entity_df)
    connection.send(rss_bytes())
    result = None
    while connection.recv() == "run":
        result = None  # the previous result would otherwise count in this run's peak
        began = time.perf_counter()
        result = run()
        connection.send(time.perf_counter() - began)
    assert result is not None
    peak = rss_bytes(field="VmHWM")
    result.to_parquet(folder / f"{name.replace(' ', '_')}.result.parquet")
    connection.send((peak, len(result)))


@dataclass
class Engine:
    name: str
    process: multiprocessing.process.BaseProcess
    connection: Connection
    setup_rss: int = 0
    times: list[float] = field(default_factory=list)
    stopped: str | None = None  # why it was stopped, if it was

    def wait(self, timeout_s: float, max_rss: int) -> object:
        """The worker's next message, or None after stopping it (time or memory)."""
        deadline = time.monotonic() + timeout_s
        while not self.connection.poll(1.0):
            reason = self.overrun(deadline, timeout_s, max_rss)
            if reason:
                self.stop(reason)
                return None
        try:
            return self.connection.recv()
        except EOFError:  # it raised: its traceback is on stderr
            self.stop("died")
            return None

    def overrun(self, deadline: float, timeout_s: float, max_rss: int) -> str | None:
        if not self.process.is_alive():
            return "died"
        if rss_bytes(self.process.pid or 0) > max_rss:
            return f"resident memory over {max_rss / MIB / 1024:.0f} GiB"
        if time.monotonic() > deadline:
            return f"one run took over {timeout_s:.0f} s"
        return None

    def stop(self, reason: str) -> None:
        self.stopped = reason
        self.process.kill()
        self.process.join()


def start(name: str, folder: Path, path: Path, labels: Path) -> Engine:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=worker, args=(child, name, folder, path, labels), name=name
    )
    process.start()
    return Engine(name, process, parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="engines to leave out")
    parser.add_argument("--run-timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--max-rss-gib", type=float, default=12, help="per engine")
    args = parser.parse_args()
    max_rss = int(args.max_rss_gib * 1024 * MIB)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, labels = make_data(folder, args.labels, args.rows, seed=0)
        engines = [start(n, folder, path, labels) for n in ENGINES if n not in args.skip]
        for engine in engines:
            setup = engine.wait(args.run_timeout, max_rss)
            engine.setup_rss = setup if isinstance(setup, int) else 0
        for _ in range(args.repeats):
            for engine in (e for e in engines if not e.stopped):
                engine.connection.send("run")
                seconds = engine.wait(args.run_timeout, max_rss)
                if isinstance(seconds, float):
                    engine.times.append(seconds)
        report(args, folder, engines, max_rss)


def report(args: argparse.Namespace, folder: Path, engines: list[Engine], max_rss: int) -> None:
    finished = {}
    for engine in (e for e in engines if not e.stopped):
        engine.connection.send("finish")
        answer = engine.wait(args.run_timeout, max_rss)
        if isinstance(answer, tuple):
            finished[engine.name] = answer
            engine.process.join()
    reference = canonical(pd.read_parquet(folder / f"{BASELINE.replace(' ', '_')}.result.parquet"))
    medians = {e.name: statistics.median(e.times) for e in engines if e.name in finished}
    fastest = min(medians.values())
    print(
        f"{args.labels} labels x {args.rows} snapshot rows, {len(FEATURES)} features, "
        f"median of {args.repeats} runs, engines interleaved"
    )
    print(
        "| engine | median s | runs s | x fastest | peak RSS MiB | RSS after setup MiB "
        "| rows | equal to baseline |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for engine in engines:
        if engine.name not in finished:
            print(f"| {engine.name} | stopped: {engine.stopped} | | | | | | |")
            continue
        peak, rows = finished[engine.name]
        result = pd.read_parquet(folder / f"{engine.name.replace(' ', '_')}.result.parquet")
        same = len(result) == len(reference) and canonical(result).equals(reference)
        runs = ", ".join(f"{t:.2f}" for t in engine.times)
        print(
            f"| {engine.name} | {medians[engine.name]:.3f} | {runs} "
            f"| {medians[engine.name] / fastest:.2f} | {peak / MIB:.0f} "
            f"| {engine.setup_rss / MIB:.0f} | {rows} | {same} |"
        )


if __name__ == "__main__":
    main()
