"""Orchestration overhead per task: trainplat vs raw processes vs Prefect 3, side by side.

    .venv/bin/python benchmarks/orchestration/run.py [--tasks 1000] [--concurrency 8]
        [--dags chain,fanout,layers] [--repeats 1] [--no-prefect]

Every task is the same no-op process, `sh -c "echo '{}' > outputs.json"` (the smallest task
that honours the task contract: exit 0 and a valid outputs.json), in its own directory. Three
DAGs of --tasks tasks: `chain` (each needs the previous one), `fanout` (all independent) and
`layers` (10 layers; each task needs every task of the layer before). Each DAG runs:

- trainplat: `trainplat serve` (a copy of .build/release/trainplat if present, which `make
  release` builds, else .build/debug/trainplat; SQLite in a temporary data directory) with
  TRAINPLAT_MAX_CONCURRENT_TASKS=--concurrency. The pipeline is registered first (not timed);
  the time is from `POST /api/v1/pipelines/:id/runs` until `GET /api/v1/runs?limit=1`
  (polled every 50 ms) shows the run succeeded, so it includes queueing, the scheduler's
  200 ms ticks, claims, attempt directories, inputs.json, the process, reading outputs.json
  and every database write.
- raw: the same processes started by this script with subprocess.run, at most --concurrency
  at once (a thread pool), in the same dependency order (chain: one after another; layers:
  a barrier between layers).
- Prefect 3 (pinned below), in its own venv under /var/tmp that this script creates on
  first use (installing it into the project venv would downgrade fastapi and websockets
  that Feast pulls in): a flow whose tasks each run the same subprocess, with
  ThreadPoolTaskRunner(max_workers=--concurrency), dependencies through wait_for; local
  (no PREFECT_API_URL, so Prefect starts its temporary server on the first flow, timed
  separately), PREFECT_HOME in a temporary directory, analytics off.

Per-task overhead = (wall - raw wall) / tasks (goal <= 5 ms); ratio = wall / raw (goal for
the fan-out: <= 1.5); trainplat vs Prefect: the ratio of their per-task overheads (goal
>= 10). Server CPU ms/task: the server process's own CPU time (its threads, not the task
processes) per task; it varies less than the wall time on a shared machine.

Then spec validation of a 10,000-task layered DAG (100 layers x 100, each task needs two
of the layer before), median of 5, through `POST /api/v1/pipelines/validate` (HTTP, auth,
YAML parse, validation, canonical hash; no storage) and through `trainplat pipeline validate
FILE` (the same plus process start, reading the file and the scheduler's first planning
pass: which tasks are ready at the start); goal < 100 ms for validation and planning.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_server import Server, binary, stage_binary

ROOT = Path(__file__).resolve().parents[2]
PREFECT_VERSION = "3.9.1"
PREFECT_VENV = Path(f"/var/tmp/trainplat-bench-prefect-{PREFECT_VERSION}")
NOOP = ["sh", "-c", "echo '{}' > outputs.json"]
LAYERS = 10
# Memory, not this machine's disk: its root file system is ext4 without a journal, and
# there ext4 skips, one by one, every inode freed in the last 60 s (360 s while its inode
# table block is dirty) when it allocates one. After a run's directories were deleted (the
# previous invocation's clean-up), each mkdir scanned thousands of them: 40% of the server's
# CPU in a profile, and the raw fan-out took 0.95-1.8 s instead of 0.6 s. The comparison is
# between orchestrators, so both sides get a file system that costs the same on every run.
DEFAULT_SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/var/tmp")


def dag(shape: str, tasks: int) -> dict[str, list[str]]:
    """Task name -> the names it needs, in a topological order."""
    names = [f"t{index:05d}" for index in range(tasks)]
    if shape == "chain":
        return {name: names[index - 1 : index] for index, name in enumerate(names)}
    if shape == "fanout":
        return {name: [] for name in names}
    width = max(1, tasks // LAYERS)
    return {
        name: names[(index // width - 1) * width : (index // width) * width]
        if index >= width
        else []
        for index, name in enumerate(names)
    }


def layers_of(graph: dict[str, list[str]]) -> list[list[str]]:
    """The graph as successive groups whose members only need members of earlier groups."""
    depth: dict[str, int] = {}
    for name, needs in graph.items():
        depth[name] = 1 + max((depth[need] for need in needs), default=-1)
    out: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for name, level in depth.items():
        out[level].append(name)
    return out


def spec_yaml(name: str, graph: dict[str, list[str]], task_command: list[str] = NOOP) -> str:
    command = json.dumps(task_command)
    lines = [f"name: {name}", "tasks:"]
    for task, needs in graph.items():
        after = f", needs: [{', '.join(needs)}]" if needs else ""
        lines.append(f"  {task}: {{command: {command}{after}}}")
    return "\n".join(lines) + "\n"


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident memory so far (`VmHWM`), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """The process's own CPU time (user + system, its threads; not its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ours(
    server: Server, project: str, shape: str, graph: dict[str, list[str]], limit: float
) -> tuple[float, float]:
    """Seconds until the run succeeded (inf when it had not finished after `limit` seconds;
    the run is then cancelled), and the server's CPU seconds meanwhile: on a shared machine
    the CPU varies less than the wall time, and it is what a task costs the other tasks."""
    spec = spec_yaml(f"bench-{shape}", graph).encode()
    pipeline = server.call("POST", f"/api/v1/projects/{project}/pipelines", spec)
    started, cpu_before = time.perf_counter(), cpu_seconds(server.process.pid)
    run = server.call("POST", f"/api/v1/pipelines/{pipeline['pipeline']['id']}/runs", {})
    while True:
        latest = server.call("GET", "/api/v1/runs?limit=1")["items"][0]
        if latest["id"] != run["id"]:
            raise RuntimeError("another run appeared")
        if latest["status"] in ("succeeded", "failed", "cancelled"):
            break
        if time.perf_counter() - started > limit:
            server.call("POST", f"/api/v1/runs/{run['id']}/cancel", {})
            print(f"{shape}: not finished after {limit:.0f} s; cancelled", file=sys.stderr)
            return float("inf"), float("nan")
        time.sleep(0.05)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu_before
    if latest["status"] != "succeeded":
        detail = server.call("GET", f"/api/v1/runs/{run['id']}")
        reasons = {t.get("reason") for t in detail["tasks"] if t["status"] == "failed"}
        print(f"{shape}: the run ended {latest['status']} after {elapsed:.1f} s: {reasons}")
        return float("nan"), float("nan")
    return elapsed, cpu


def run_raw(scratch: Path, graph: dict[str, list[str]], concurrency: int) -> float:
    def one(name: str) -> None:
        directory = scratch / name
        directory.mkdir()
        subprocess.run(NOOP, cwd=directory, check=True)
        json.loads((directory / "outputs.json").read_text())

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for layer in layers_of(graph):
            list(pool.map(one, layer))
    return time.perf_counter() - started


PREFECT_CHILD = r"""
import json, subprocess, sys, time
from pathlib import Path
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

NOOP = ["sh", "-c", "echo '{}' > outputs.json"]
graph = json.loads(Path(sys.argv[1]).read_text())
concurrency, scratch = int(sys.argv[2]), Path(sys.argv[3])

@task
def noop(name: str) -> None:
    directory = scratch / name
    directory.mkdir()
    subprocess.run(NOOP, cwd=directory, check=True)
    json.loads((directory / "outputs.json").read_text())

@flow(task_runner=ThreadPoolTaskRunner(max_workers=concurrency))
def dag() -> None:
    futures = {}
    for name, needs in graph.items():
        futures[name] = noop.submit(name, wait_for=[futures[n] for n in needs])
    for future in futures.values():
        future.result()

@flow
def warm() -> None:
    pass

started = time.perf_counter()
warm()
first = time.perf_counter() - started
started = time.perf_counter()
dag()
print(json.dumps({"first_flow_s": first, "dag_s": time.perf_counter() - started}))
"""


def ensure_prefect() -> Path:
    python = PREFECT_VENV / "bin/python"
    probe = [str(python), "-c", "import prefect; print(prefect.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == (
        PREFECT_VERSION
    ):
        return python
    print(f"creating {PREFECT_VENV} with prefect=={PREFECT_VERSION}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PREFECT_VENV)], check=True)
    install = [str(python), "-m", "pip", "install", "-q", f"prefect=={PREFECT_VERSION}"]
    subprocess.run(install, check=True)
    return python


SMALL_USER, SMALL_PASSWORD = "bench-small", "bench-small-password"


# The big run's tasks, long enough that it holds every slot while the small run waits: a
# 1,000-task fan-out of no-op tasks ended in under a second, before the small run started.
HOLD = ["sh", "-c", "sleep 0.2; echo '{}' > outputs.json"]


def small_run_waits(server: Server, project: str, tasks: int) -> dict[str, float]:
    """Fair share: seconds a second user's 3-task run takes, alone and started while the
    admin's `tasks`-task fan-out of 0.2 s tasks holds every slot (that run is cancelled
    afterwards)."""
    server.call("POST", "/api/v1/users", {"username": SMALL_USER, "password": SMALL_PASSWORD})
    member = {"username": SMALL_USER, "role": "member"}
    server.call("POST", f"/api/v1/projects/{project}/members", member)
    token = server.login(SMALL_USER, SMALL_PASSWORD)
    pipelines = f"/api/v1/projects/{project}/pipelines"
    small_spec = spec_yaml("bench-small", dag("fanout", 3)).encode()
    small = server.call("POST", pipelines, small_spec, token)["pipeline"]["id"]
    big_spec = spec_yaml("bench-big", dag("fanout", tasks), HOLD).encode()
    big = server.call("POST", pipelines, big_spec)["pipeline"]["id"]
    alone = finish_small_run(server, small, token)
    big_run = server.call("POST", f"/api/v1/pipelines/{big}/runs", {})["id"]
    time.sleep(1.0)  # every slot is the big run's by now
    behind = finish_small_run(server, small, token)
    if server.call("GET", f"/api/v1/runs/{big_run}")["status"] not in ("queued", "running"):
        print(
            "fair share: the big run ended before the small run did, so nothing was measured "
            "behind it (raise --tasks)",
            file=sys.stderr,
        )
        return {"alone": alone, "behind_big_run": float("nan")}
    server.call("POST", f"/api/v1/runs/{big_run}/cancel", {})
    return {"alone": alone, "behind_big_run": behind}


def finish_small_run(server: Server, pipeline: str, token: str) -> float:
    started = time.perf_counter()
    run = server.call("POST", f"/api/v1/pipelines/{pipeline}/runs", {}, token)["id"]
    while server.call("GET", f"/api/v1/runs/{run}", token=token)["status"] != "succeeded":
        if time.perf_counter() - started > 120:
            raise RuntimeError("the small run had not succeeded after 120 s")
        time.sleep(0.02)
    return time.perf_counter() - started


def run_prefect(
    python: Path, scratch: Path, graph: dict[str, list[str]], concurrency: int
) -> dict[str, float]:
    home = scratch / "prefect-home"
    home.mkdir()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # Its temporary server's start is timed apart from the DAG; on a loaded 2-core machine
        # it can take longer than Prefect's default 20 s, which failed whole benchmark runs.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    env.pop("PREFECT_API_URL", None)
    script = scratch / "prefect_child.py"
    script.write_text(PREFECT_CHILD)
    tasks_dir = scratch / "tasks"
    tasks_dir.mkdir()
    # A file, not an argument: the layered graph's 90,000 edges exceed the kernel's limit on
    # one argument's length.
    graph_file = scratch / "graph.json"
    graph_file.write_text(json.dumps(graph))
    command = [str(python), str(script), str(graph_file), str(concurrency), str(tasks_dir)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=scratch)
    if result.returncode != 0:
        raise RuntimeError(f"the Prefect flow failed:\n{result.stderr[-3000:]}")
    timings: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return timings


def validation_times(
    server: Server, program: Path, scratch: Path, repeats: int
) -> dict[str, float]:
    width, depth = 100, 100
    names = [[f"l{layer:03d}_{i:03d}" for i in range(width)] for layer in range(depth)]
    graph = {
        names[layer][i]: ([names[layer - 1][i], names[layer - 1][(i + 1) % width]] if layer else [])
        for layer in range(depth)
        for i in range(width)
    }
    spec = spec_yaml("validate-10k", graph)
    path = scratch / "spec-10k.yaml"
    path.write_text(spec)
    print(f"10,000-task spec: {len(spec) / 1024:.0f} KiB", file=sys.stderr)
    # One kind after the other, not interleaved: both use every core, and a CLI run started
    # right after an API call shared the cores with the server still freeing that call's spec.
    api: list[float] = []
    cli: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = server.call("POST", "/api/v1/pipelines/validate", spec.encode())
        api.append(time.perf_counter() - started)
        if answer.get("tasks") != width * depth:
            raise RuntimeError(f"unexpected validation answer: {str(answer)[:500]}")
    time.sleep(0.5)
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [str(program), "pipeline", "validate", str(path)], check=True, capture_output=True
        )
        cli.append(time.perf_counter() - started)
    result = {"api": statistics.median(api), "cli": statistics.median(cli)}
    print(f"validation: {result}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--dags", default="chain,fanout,layers")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-prefect", action="store_true")
    parser.add_argument(
        "--validation-repeats", type=int, default=5, help="0 skips the validation timing"
    )
    parser.add_argument("--run-timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=DEFAULT_SCRATCH,
        help="where the server's data directory and the raw tasks' directories go (both sides "
        "create their task directories and files there, so its file system's cost is in both; "
        f"default {DEFAULT_SCRATCH}, see DEFAULT_SCRATCH)",
    )
    args = parser.parse_args()
    shapes = [shape for shape in args.dags.split(",") if shape]
    prefect = None if args.no_prefect else ensure_prefect()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="trainplat-orch-bench-", dir=args.scratch) as tmp:
        scratch = Path(tmp)
        program = stage_binary(scratch)
        modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(program.stat().st_mtime))
        print(f"server binary: {binary()} (built {modified}), run from a copy", file=sys.stderr)
        print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
        server = Server(
            program,
            scratch / "data",
            {"TRAINPLAT_MAX_CONCURRENT_TASKS": str(args.concurrency)},
            timeout=120,
        )
        server.login_admin()
        try:
            project = server.call("POST", "/api/v1/projects", {"name": "bench"})["id"]
            validation = (
                validation_times(server, program, scratch, args.validation_repeats)
                if args.validation_repeats
                else {}
            )
            for index, shape in enumerate(shapes):
                graph = dag(shape, args.tasks)
                row: dict[str, float] = {}
                raws, ours, cpus = [], [], []
                for repeat in range(args.repeats):
                    directory = scratch / f"raw-{index}-{repeat}"
                    directory.mkdir()
                    raws.append(run_raw(directory, graph, args.concurrency))
                    name = f"{shape}-{repeat}"
                    elapsed, cpu = run_ours(server, project, name, graph, args.run_timeout)
                    ours.append(elapsed)
                    cpus.append(cpu)
                row["raw"], row["ours"] = statistics.median(raws), statistics.median(ours)
                row["server_cpu"] = statistics.median(cpus)
                print(
                    f"{shape}: raw {row['raw']:.2f} s, trainplat {row['ours']:.2f} s "
                    f"(server CPU {row['server_cpu']:.2f} s)",
                    file=sys.stderr,
                )
                if prefect is not None:
                    runs = []
                    for repeat in range(args.repeats):
                        directory = scratch / f"prefect-{index}-{repeat}"
                        directory.mkdir()
                        try:
                            runs.append(run_prefect(prefect, directory, graph, args.concurrency))
                        except RuntimeError as failure:
                            # Reported, not fatal: the rows measured so far still print.
                            print(f"{shape}: Prefect run failed: {failure}", file=sys.stderr)
                    if not runs:
                        results[shape] = row
                        continue
                    row["prefect"] = statistics.median(r["dag_s"] for r in runs)
                    row["prefect_first_flow"] = statistics.median(r["first_flow_s"] for r in runs)
                    print(f"{shape}: Prefect {row['prefect']:.2f} s", file=sys.stderr)
                results[shape] = row
            # Last: the cancelled big run's processes take a heartbeat to stop.
            fairness = small_run_waits(server, project, args.tasks)
            server_peak_mib = peak_memory_mib(server.process.pid)
        finally:
            server.stop()
            print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    if args.json:
        report = {
            "dags": results,
            "validation": validation,
            "fairness": fairness,
            "server_peak_mib": server_peak_mib,
        }
        args.json.write_text(json.dumps(report, indent=2))

    build = "debug" if "/debug/" in str(binary()) else "release"
    n = args.tasks
    print(
        f"\n{n} no-op tasks per DAG, concurrency {args.concurrency}, median of {args.repeats} "
        f"(trainplat {build} build, SQLite; 2 shared cores)"
    )
    print(
        f"{'dag':<7} {'raw s':>7} {'ours s':>8} {'ours/raw':>9} {'ours ms/task':>13} "
        f"{'server CPU ms/task':>19} "
        f"{'Prefect s':>10} {'Prefect ms/task':>16} {'Prefect/ours':>13}"
    )
    for shape, row in results.items():
        ours_overhead = (row["ours"] - row["raw"]) / n * 1000
        line = (
            f"{shape:<7} {row['raw']:>7.2f} {row['ours']:>8.2f} {row['ours'] / row['raw']:>9.2f} "
            f"{ours_overhead:>13.2f} {row['server_cpu'] / n * 1000:>19.2f}"
        )
        if "prefect" in row:
            prefect_overhead = (row["prefect"] - row["raw"]) / n * 1000
            line += (
                f" {row['prefect']:>10.2f} {prefect_overhead:>16.2f} "
                f"{prefect_overhead / ours_overhead if ours_overhead > 0 else float('nan'):>13.2f}"
            )
        print(line)
    if any("prefect_first_flow" in row for row in results.values()):
        first = statistics.median(
            row["prefect_first_flow"] for row in results.values() if "prefect_first_flow" in row
        )
        print(f"Prefect's first (empty) flow, starting its temporary server: {first:.1f} s")
    print("goals: ours <= 5 ms/task; fan-out ours/raw <= 1.5; Prefect/ours per-task overhead >= 10")
    print(
        f"\nfair share: another user's 3-task run took {fairness['alone']:.2f} s alone and "
        f"{fairness['behind_big_run']:.2f} s started while a {n}-task fan-out held every slot "
        f"({fairness['behind_big_run'] / fairness['alone']:.2f}x)"
    )
    print(f"\nthe server's peak resident memory over the benchmark: {server_peak_mib:.0f} MiB")
    if validation:
        print(
            f"\nvalidation of a 10,000-task layered spec, median of {args.validation_repeats}: "
            f"API {validation['api'] * 1000:.0f} ms, CLI {validation['cli'] * 1000:.0f} ms "
            "(goal < 100 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
