"""Extract + parse to Parquet, side by side: trainplat's `doris.extract` vs the naive baseline
a user would write (pandas.read_sql + json_normalize + to_parquet), from MariaDB and from
SQLite. Snapshots carry 20 JSON features (10 numeric, 10 categorical).

Each measurement runs in its own child process: throughput is rows / wall time of the
extraction (median of --repeats), peak memory is the child's ru_maxrss (which includes the
interpreter and its imports: pandas for the baseline, pyarrow/sqlalchemy for ours). CPU is
the child's user + system time over the same span, all its threads (a MariaDB server's own
time is not in it), and load the 1-minute load average as each child started: on a machine
shared with other work the CPU ratio moves far less than the wall-time ratio. The
scaling row runs ours at 5x --rows from SQLite once and compares peak memory with 1x.

    eval "$(scripts/services.sh)"        # MariaDB (TRAINPLAT_TEST_MARIADB_URL)
    .venv/bin/python benchmarks/doris/run.py                 # 200k rows
    .venv/bin/python benchmarks/doris/run.py --rows 1000000  # the issue's size

Without TRAINPLAT_TEST_MARIADB_URL (or with --no-mariadb) only SQLite is measured."""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import make_url

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=30)
NUMERIC = [f"num_{i:02d}" for i in range(10)]
CATEGORICAL = [f"cat_{i:02d}" for i in range(10)]
BENCH_DATABASE = "trainplat_doris_bench"
SCHEMA = [f"{key}:numeric" for key in NUMERIC] + [f"{key}:categorical" for key in CATEGORICAL]


def rows(count: int, seed: int = 0, batch: int = 50_000) -> Any:
    """SnapshotRows in batches: 2000 entities, times spread over the 30 days."""
    from trainplat.doris.schema import SnapshotRow, encode_times_us

    rng = np.random.default_rng(seed)
    span_us = int((END - START).total_seconds() * 1e6)
    base_us = int(START.timestamp() * 1e6)
    for offset in range(0, count, batch):
        size = min(batch, count - offset)
        times = encode_times_us(np.sort(rng.integers(0, span_us, size)) + base_us)
        numbers = np.round(rng.normal(size=(size, len(NUMERIC))), 6).tolist()
        categories = rng.integers(0, 50, size=(size, len(CATEGORICAL))).tolist()
        entities = rng.integers(0, 2000, size).tolist()
        out = []
        for i in range(size):
            features = dict(zip(NUMERIC, numbers[i], strict=True))
            features.update(
                {key: f"v{value}" for key, value in zip(CATEGORICAL, categories[i], strict=True)}
            )
            out.append(
                SnapshotRow(
                    uuid=f"e{entities[i]:05d}",
                    node_id=str(i % 7),
                    time=times[i],
                    features=json.dumps(features),
                    is_tag=bool(i % 10 == 0),
                    created_at=times[i],
                )
            )
        yield out


def load_sqlite(path: Path, count: int) -> None:
    from trainplat.doris.source import SqliteSource

    with SqliteSource.create(path) as source:
        for batch in rows(count):
            source.write(batch)


def bench_database(url: str) -> str:
    """The benchmark's own database on the test server (created if missing), so dropping
    and refilling its table never races integration tests using the URL's database."""
    from sqlalchemy import create_engine

    parsed = make_url(url)
    engine = create_engine(parsed)
    with engine.connect() as server:
        server.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {BENCH_DATABASE}")
    engine.dispose()
    return parsed.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def load_mariadb(url: str, count: int) -> None:
    from trainplat.doris.connection import ServerConfig, dispose_engines
    from trainplat.doris.server import ServerSource

    source = ServerSource(ServerConfig(url))
    source.execute("DROP TABLE IF EXISTS feature_snapshots")
    source.create_table()
    for batch in rows(count):
        source.write(batch)
    dispose_engines()


# --- children -------------------------------------------------------------------------


def child_ours(kind: str, where: str, out: Path) -> int:
    from trainplat.doris.extract import extract
    from trainplat.tasks.context import TaskContext

    source = {"source": Path(where)} if kind == "sqlite" else {"source_url": where}
    result = extract(
        TaskContext(task_dir=out),
        start=START,
        end=END,
        feature_schema=SCHEMA,
        cache=False,
        **source,
    )
    return int(result.outputs["rows"])


def child_baseline(kind: str, where: str, out: Path) -> int:
    import pandas as pd

    columns = "SELECT uuid, node_id, time, features, is_tag FROM feature_snapshots"
    order = "ORDER BY time, uuid, node_id"
    if kind == "sqlite":
        import sqlite3

        from trainplat.doris.schema import encode_time

        connection = sqlite3.connect(where)
        frame = pd.read_sql(
            f"{columns} WHERE time >= ? AND time < ? {order}",
            connection,
            params=(encode_time(START), encode_time(END)),
        )
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(where)
        bounds = {"s": START.replace(tzinfo=None), "e": END.replace(tzinfo=None)}
        with engine.connect() as server:
            query = text(f"{columns} WHERE time >= :s AND time < :e {order}")
            frame = pd.read_sql(query, server, params=bounds)
    features = pd.json_normalize(frame.pop("features").map(json.loads).tolist())
    table = pd.concat([frame, features], axis=1)
    table.to_parquet(out / "snapshots.parquet")
    return len(table)


def child(args: argparse.Namespace) -> None:
    out = Path(tempfile.mkdtemp(prefix="doris-bench-"))
    function = child_ours if args.child == "ours" else child_baseline
    # Imports are not timed (each side imports what it needs; both count in peak memory).
    if args.child == "ours":
        import pyarrow as pa
        import trainplat.doris.extract  # noqa: F401

        # pyarrow imports pandas on its first conversion of Python values: an import too.
        pa.array(["warm-up"])
    else:
        import pandas  # noqa: F401
        import sqlalchemy  # noqa: F401
    load = os.getloadavg()[0]
    cpu_before = cpu_seconds()
    began = time.perf_counter()
    count = function(args.kind, args.where, out)
    seconds = time.perf_counter() - began
    cpu = cpu_seconds() - cpu_before
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    subprocess.run(["rm", "-rf", str(out)], check=True)
    print(
        json.dumps(
            {
                "rows": count,
                "seconds": seconds,
                "cpu_s": cpu,
                "load": load,
                "peak_mib": peak_kib / 1024,
            }
        )
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(method: str, kind: str, where: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", method, "--kind", kind, "--where", where]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{method}/{kind} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def median_of(method: str, kind: str, where: str, repeats: int) -> dict[str, float]:
    runs = [measure(method, kind, where) for _ in range(repeats)]
    return {
        "rows": runs[0]["rows"],
        "rows_per_s": statistics.median(run["rows"] / run["seconds"] for run in runs),
        "cpu_s": statistics.median(run["cpu_s"] for run in runs),
        "peak_mib": statistics.median(run["peak_mib"] for run in runs),
        "load_min": min(run["load"] for run in runs),
        "load_max": max(run["load"] for run in runs),
    }


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--rows", type=int, default=200_000)
    cli.add_argument("--repeats", type=int, default=3)
    cli.add_argument("--no-mariadb", action="store_true")
    cli.add_argument("--no-scaling", action="store_true")
    cli.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    cli.add_argument("--kind", help=argparse.SUPPRESS)
    cli.add_argument("--where", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        child(args)
        return
    mariadb_url = None if args.no_mariadb else os.environ.get("TRAINPLAT_TEST_MARIADB_URL")
    folder = Path(tempfile.mkdtemp(prefix="doris-bench-data-"))
    try:
        sources = [("sqlite", str(folder / "source.sqlite"))]
        began = time.perf_counter()
        load_sqlite(folder / "source.sqlite", args.rows)
        print(
            f"loaded {args.rows} rows into SQLite in {time.perf_counter() - began:.0f}s", flush=True
        )
        if mariadb_url:
            mariadb_url = bench_database(mariadb_url)
            began = time.perf_counter()
            load_mariadb(mariadb_url, args.rows)
            print(f"loaded into MariaDB in {time.perf_counter() - began:.0f}s", flush=True)
            sources.append(("mariadb", mariadb_url))
        print()
        print(f"{args.rows} rows, 20 JSON features; median of {args.repeats}; peak = child maxrss")
        print("CPU = child user + system s (not a server's); load = 1-min average at child start")
        header = (
            f"{'source':8} {'ours rows/s':>12} {'base rows/s':>12} {'speed-up':>9} "
            f"{'ours CPU s':>10} {'base CPU s':>10} {'CPU ratio':>9} "
            f"{'ours MiB':>9} {'base MiB':>9} {'mem ratio':>9} {'load':>9}"
        )
        print(header)
        print("-" * len(header))
        for kind, where in sources:
            ours = median_of("ours", kind, where, args.repeats)
            base = median_of("baseline", kind, where, args.repeats)
            if ours["rows"] != base["rows"]:
                raise SystemExit(f"row counts differ: {ours['rows']} vs {base['rows']}")
            load = (
                min(ours["load_min"], base["load_min"]),
                max(ours["load_max"], base["load_max"]),
            )
            print(
                f"{kind:8} {ours['rows_per_s']:12,.0f} {base['rows_per_s']:12,.0f} "
                f"{ours['rows_per_s'] / base['rows_per_s']:8.1f}x "
                f"{ours['cpu_s']:10.1f} {base['cpu_s']:10.1f} "
                f"{base['cpu_s'] / ours['cpu_s']:8.1f}x "
                f"{ours['peak_mib']:9.0f} {base['peak_mib']:9.0f} "
                f"{ours['peak_mib'] / base['peak_mib']:9.2f} {load[0]:4.1f}-{load[1]:<4.1f}",
                flush=True,
            )
        if not args.no_scaling:
            big = folder / "big.sqlite"
            load_sqlite(big, 5 * args.rows)
            one = measure("ours", "sqlite", str(folder / "source.sqlite"))
            five = measure("ours", "sqlite", str(big))
            print(
                f"\nscaling (ours, SQLite): peak {one['peak_mib']:.0f} MiB at {args.rows} rows, "
                f"{five['peak_mib']:.0f} MiB at {5 * args.rows} rows: "
                f"{five['peak_mib'] / one['peak_mib']:.2f}x "
                f"({five['rows'] / five['seconds']:,.0f} rows/s at 5x; "
                f"load {one['load']:.1f} / {five['load']:.1f})"
            )
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=True)


if __name__ == "__main__":
    main()
