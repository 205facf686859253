"""The API under load: mixed authenticated reads and writes vs an unauthenticated route.

    eval "$(scripts/services.sh)"   # PostgreSQL (TRAINPLAT_TEST_POSTGRES_URL); else SQLite only
    .venv/bin/python benchmarks/api/run.py [--duration 60] [--clients 200] [--no-postgres]

For each backend (SQLite in the data directory; PostgreSQL in a fresh database on the server
that TRAINPLAT_TEST_POSTGRES_URL names, dropped afterwards) this starts `trainplat serve`
(.build/release/trainplat if present, else .build/debug/trainplat; TRAINPLAT_BIN overrides),
creates through the API one project, `--users` member users, an API key per user scoped to
the project and a login (JWT access token) per user, registers one pipeline and runs it once
so there is a run to read. Then `--clients` concurrent closed-loop clients (one asyncio
process with aiohttp, one connection each, no think time, 10 s timeout per request; half
present an API key, half an access token) run for `--duration` seconds each of:

- mixed: 25 % GET /api/v1/pipelines, 25 % GET /api/v1/runs/:id, 20 % GET /api/v1/runs,
  20 % POST /api/v1/pipelines/validate (a 5-task spec), 10 % POST
  /api/v1/projects/:p/pipelines (a new version of one of 10 pipelines; no run is started);
- auth only: GET /api/v1/auth/me (authentication plus one user lookup);
- no auth: GET /health (the unauthenticated baseline).

Each phase starts with a 2 s warm-up that is not counted. An error is any exception
(timeout, connection reset) or an unexpected status. TRAINPLAT_RATE_LIMIT_PER_SECOND is
raised to its maximum (100000) so the per-caller token bucket is not what is measured.
The load client runs on the same 2 cores as the server and takes a large share of them; with
closed-loop clients, latency ~= clients / throughput (Little's law), so p99 mostly measures
how fast the pair of processes turns requests over.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from bench_server import ADMIN_PASSWORD, Server, binary, stage_binary

USER_PASSWORD = "bench-user-password"
WARMUP_SECONDS = 2.0
VALIDATE_SPEC = (
    "name: validate-me\n"
    "params:\n  day: {type: string, default: '2026-01-01'}\n"
    "tasks:\n"
    "  a: {command: [sh, -c, 'echo {} > outputs.json']}\n"
    "  b: {command: [sh, -c, 'echo {} > outputs.json'], needs: [a]}\n"
    "  c: {command: [sh, -c, 'echo {} > outputs.json'], needs: [a]}\n"
    "  d: {command: [echo, '{{ params.day }}'], needs: [b, c], retries: 2}\n"
    "  e: {command: [sh, -c, 'echo {} > outputs.json'], needs: [d], timeout: 10m}\n"
)


@dataclass
class Fixture:
    project: str
    pipeline: str
    run: str
    credentials: list[str]  # API keys and access tokens, alternating


def setup(server: Server, users: int) -> Fixture:
    admin = server.login("admin", ADMIN_PASSWORD)
    project = server.call("POST", "/api/v1/projects", {"name": "bench"}, admin)["id"]
    credentials: list[str] = []
    for index in range(users):
        name = f"bench{index}"
        server.call("POST", "/api/v1/users", {"username": name, "password": USER_PASSWORD}, admin)
        body = {"username": name, "role": "member"}
        server.call("POST", f"/api/v1/projects/{project}/members", body, admin)
        token = server.login(name, USER_PASSWORD)
        key = server.call(
            "POST", "/api/v1/api-keys", {"name": "bench", "project_id": project}, token
        )["secret"]
        credentials += [key, token]
    spec = (
        "name: bench-read\ntasks:\n"
        "  a: {command: [sh, -c, 'echo {} > outputs.json']}\n"
        "  b: {command: [sh, -c, 'echo {} > outputs.json'], needs: [a]}\n"
    )
    pipeline = server.call(
        "POST", f"/api/v1/projects/{project}/pipelines", spec.encode(), credentials[0]
    )["pipeline"]["id"]
    run = server.call("POST", f"/api/v1/pipelines/{pipeline}/runs", {}, credentials[0])["id"]
    deadline = time.monotonic() + 60
    while server.call("GET", f"/api/v1/runs/{run}", token=credentials[0])["status"] != "succeeded":
        if time.monotonic() > deadline:
            raise RuntimeError("the setup run did not succeed within 60 s")
        time.sleep(0.2)
    return Fixture(project, pipeline, run, credentials)


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    by_credential: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)


Request = tuple[str, str, str, bytes | None, tuple[int, ...]]  # label, method, path, body, ok


def mixed_request(rng: random.Random, fixture: Fixture, counter: list[int]) -> Request:
    roll = rng.random()
    if roll < 0.25:
        return ("GET pipelines", "GET", "/api/v1/pipelines", None, (200,))
    if roll < 0.50:
        return ("GET run", "GET", f"/api/v1/runs/{fixture.run}", None, (200,))
    if roll < 0.70:
        return ("GET runs", "GET", "/api/v1/runs?limit=20", None, (200,))
    if roll < 0.90:
        body = VALIDATE_SPEC.encode()
        return ("POST validate", "POST", "/api/v1/pipelines/validate", body, (200,))
    counter[0] += 1
    path = f"/api/v1/projects/{fixture.project}/pipelines"
    return ("POST register", "POST", path, register_spec(counter[0]), (200, 201))


def register_spec(number: int) -> bytes:
    """A new version (the default differs) of one of 10 pipelines."""
    return (
        f"name: bench-write-{number % 10}\n"
        f"params:\n  n: {{type: int, default: {number}}}\n"
        "tasks:\n  a: {command: [sh, -c, 'echo {} > outputs.json']}\n"
    ).encode()


async def client(
    session: aiohttp.ClientSession,
    api: str,
    credential: str,
    workload: str,
    fixture: Fixture,
    seed: int,
    counted_from: float,
    until: float,
    stats: Stats,
) -> None:
    rng = random.Random(seed)
    counter = [seed * 1_000_000]
    headers = {"Authorization": f"Bearer {credential}"}
    kind = "API key" if credential.startswith("tp_") else "access token"
    while True:
        now = time.perf_counter()
        if now >= until:
            return
        if workload == "mixed":
            label, method, path, body, ok = mixed_request(rng, fixture, counter)
        elif workload == "auth only":
            label, method, path, body, ok = ("GET me", "GET", "/api/v1/auth/me", None, (200,))
        else:
            label, method, path, body, ok = ("GET health", "GET", "/health", None, (200,))
        started = time.perf_counter()
        failure = ""
        try:
            async with session.request(
                method, api + path, data=body, headers=headers if workload != "no auth" else None
            ) as response:
                await response.read()
                if response.status not in ok:
                    failure = f"{label}: HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            failure = f"{label}: {type(error).__name__}"
        elapsed = time.perf_counter() - started
        if started < counted_from:
            continue
        stats.by_route[label] += 1
        if failure:
            stats.errors[failure] += 1
        else:
            stats.latencies.append(elapsed)
            stats.by_credential.setdefault(kind, []).append(elapsed)


async def load(api: str, fixture: Fixture, workload: str, clients: int, duration: float) -> Stats:
    stats = Stats()
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        counted_from = start + WARMUP_SECONDS
        until = counted_from + duration
        await asyncio.gather(
            *(
                client(
                    session,
                    api,
                    fixture.credentials[index % len(fixture.credentials)],
                    workload,
                    fixture,
                    index + 1,
                    counted_from,
                    until,
                    stats,
                )
                for index in range(clients)
            )
        )
    return stats


async def probe(api: str, fixture: Fixture, requests: int) -> dict[str, float]:
    """Median latency of each route with a single client, one request at a time: the cost of
    one request without queueing."""
    key, token = fixture.credentials[0], fixture.credentials[1]
    rng = random.Random(0)
    counter = [0]
    routes: dict[str, tuple[str, str, bytes | None, str]] = {
        "GET /health": ("GET", "/health", None, ""),
        "GET /api/v1/auth/me (API key)": ("GET", "/api/v1/auth/me", None, key),
        "GET /api/v1/auth/me (access token)": ("GET", "/api/v1/auth/me", None, token),
    }
    while len(routes) < 8:
        label, method, path, body, _ = mixed_request(rng, fixture, counter)
        routes.setdefault(f"{label} (API key)", (method, path, body, key))
    medians: dict[str, float] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for label, (method, path, body, credential) in routes.items():
            headers = {"Authorization": f"Bearer {credential}"} if credential else None
            samples = []
            for index in range(requests):
                if label.startswith("POST register"):
                    body = register_spec(10**9 + index)
                started = time.perf_counter()
                async with session.request(method, api + path, data=body, headers=headers) as r:
                    await r.read()
                    if r.status >= 300:
                        raise RuntimeError(f"{label}: HTTP {r.status}")
                samples.append(time.perf_counter() - started)
            medians[label] = statistics.median(samples)
    return medians


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def postgres_database(admin_url: str) -> tuple[str, str]:
    """A fresh database on the server of admin_url: (its URL, its name)."""
    name = f"trainplat_bench_{uuid.uuid4().hex[:12]}"
    psql(admin_url, f"CREATE DATABASE {name}")
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def psql(url: str, statement: str) -> None:
    program = shutil.which("psql") or "psql"
    subprocess.run([program, url, "-qc", statement], check=True, capture_output=True)


def measure_backend(
    backend: str, extra_env: dict[str, str], args: argparse.Namespace, scratch: Path
) -> list[dict[str, Any]]:
    server = Server(scratch / "bin" / binary().name, scratch / backend / "data", extra_env)
    rows: list[dict[str, Any]] = []
    try:
        began = time.perf_counter()
        fixture = setup(server, args.users)
        print(f"{backend}: setup in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        for label, seconds in asyncio.run(probe(server.api, fixture, 100)).items():
            rows.append({"backend": backend, "workload": "single", "route": label, "s": seconds})
        print(f"  load average: {os.getloadavg()}", file=sys.stderr)
        for workload in ("mixed", "auth only", "no auth"):
            stats = asyncio.run(load(server.api, fixture, workload, args.clients, args.duration))
            total = sum(stats.by_route.values())
            row = {
                "backend": backend,
                "workload": workload,
                "requests": total,
                "rps": total / args.duration,
                "p50_ms": percentile(stats.latencies, 0.50) * 1000,
                "p99_ms": percentile(stats.latencies, 0.99) * 1000,
                "errors": sum(stats.errors.values()),
                "error_kinds": dict(stats.errors.most_common(5)),
                "mix": dict(stats.by_route),
            }
            rows.append(row)
            print(
                f"{backend} {workload}: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
                f"p99 {row['p99_ms']:.1f} ms, errors {row['errors']} {row['error_kinds']}",
                file=sys.stderr,
            )
            print(f"  load average: {os.getloadavg()}", file=sys.stderr)
            if workload != "no auth":
                for kind, values in sorted(stats.by_credential.items()):
                    print(
                        f"    {kind}: {len(values)} ok, "
                        f"p50 {percentile(values, 0.5) * 1000:.1f} ms, "
                        f"p99 {percentile(values, 0.99) * 1000:.1f} ms",
                        file=sys.stderr,
                    )
    finally:
        server.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    print(f"load client: aiohttp {aiohttp.__version__} on {loop}", file=sys.stderr)
    postgres_url = os.environ.get("TRAINPLAT_TEST_POSTGRES_URL", "")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="trainplat-api-bench-", dir="/var/tmp") as scratch:
        staged = stage_binary(Path(scratch))
        modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(staged.stat().st_mtime))
        print(f"server binary: {binary()} (built {modified}), run from a copy", file=sys.stderr)
        rows += measure_backend("sqlite", {}, args, Path(scratch))
        if postgres_url and not args.no_postgres:
            url, name = postgres_database(postgres_url)
            try:
                env = {"TRAINPLAT_DATABASE_URL": url}
                rows += measure_backend("postgres", env, args, Path(scratch))
            finally:
                psql(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            print("PostgreSQL skipped (no TRAINPLAT_TEST_POSTGRES_URL or --no-postgres)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))

    build = "release" if "release" in str(binary()) else "debug"
    print(
        f"\n{args.clients} closed-loop clients, {args.duration:.0f} s per phase "
        f"({build} build; the load client shares the 2 cores)"
    )
    print(
        f"{'backend':<9} {'workload':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'req/s vs no auth':>17}"
    )
    ok = True
    for row in rows:
        if row["workload"] == "single":
            continue
        baseline = next(
            r["rps"] for r in rows if r["backend"] == row["backend"] and r["workload"] == "no auth"
        )
        print(
            f"{row['backend']:<9} {row['workload']:<10} {row['rps']:>8.0f} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['errors']:>7} {row['rps'] / baseline:>17.2f}"
        )
        if row["workload"] == "mixed":
            ok = ok and row["errors"] == 0 and row["p99_ms"] < 50
    print("\ngoal (mixed): zero errors and p99 < 50 ms:", "met" if ok else "NOT met")
    backends = list(dict.fromkeys(row["backend"] for row in rows))
    singles = [row for row in rows if row["workload"] == "single"]
    print("\none client, one request at a time: median ms of 100 per route")
    print(f"{'route':<40}" + "".join(f"{backend:>10}" for backend in backends))
    for route in dict.fromkeys(row["route"] for row in singles):
        by_backend = {r["backend"]: r["s"] for r in singles if r["route"] == route}
        cells = "".join(f"{by_backend[backend] * 1000:>10.2f}" for backend in backends)
        print(f"{route:<40}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
