"""Two servers, so two schedulers, on one database. On the embedded SQLite file (both servers
share one data directory, as two processes on one host would) and on PostgreSQL (each
server its own data directory, as on two hosts):

- both claim from the same ready tasks, and every task of the run is started exactly once;
- when one is killed (-9) with tasks running, the other finds their leases expired, records
  those attempts as lost, and runs the tasks again, so the run still succeeds.

Each task appends its id and the API address of the server that started it to one file, so
a task started twice shows twice there even if the database recorded one attempt."""

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

# The limit of running tasks counts every scheduler's tasks: the first server may fill 4
# slots, the second 8, so the second always finds slots free however fast the first refills
# its own.
FIRST_SLOTS, SECOND_SLOTS = 4, 8


@dataclass
class Pair:
    first: Server
    second: Server
    starts: Path  # "<task id> <API address>" per start
    script: Path  # the command of every task

    def set_task_seconds(self, seconds: float) -> None:
        """Every task records its start, sleeps this long and succeeds. The script is
        replaced, not rewritten in place: tasks running the old one go on reading it."""
        draft = self.script.with_suffix(".new")
        draft.write_text(
            f'echo "$TRAINPLAT_TASK_ID $TRAINPLAT_API_URL" >> "{self.starts}"\n'
            f"sleep {seconds}\n"
            "echo '{}' > outputs.json\n"
        )
        draft.replace(self.script)

    def layered_spec(self, width: int, depth: int) -> bytes:
        """`width` x `depth` tasks in layers: each needs two of the layer before."""
        lines = ["name: shared", "tasks:"]
        for layer in range(depth):
            for index in range(width):
                needs = (
                    f", needs: [l{layer - 1}_{index}, l{layer - 1}_{(index + 1) % width}]"
                    if layer
                    else ""
                )
                lines.append(f"  l{layer}_{index}: {{command: [sh, '{self.script}']{needs}}}")
        return ("\n".join(lines) + "\n").encode()

    def start_run_with_second_paused(self, spec: bytes) -> str:
        """Registers the spec and starts a run through the first server while the second is
        stopped (SIGSTOP), so the first surely claims the run's first tasks; answers the run
        id once the first has started `FIRST_SLOTS` of them, the second still stopped."""
        assert self.second.process is not None
        project = self.first.call("POST", "/api/v1/projects", {"name": "shared"})["id"]
        pipeline = self.first.call("POST", f"/api/v1/projects/{project}/pipelines", spec)
        self.second.process.send_signal(signal.SIGSTOP)
        path = f"/api/v1/pipelines/{pipeline['pipeline']['id']}/runs"
        run_id: str = self.first.call("POST", path, {})["id"]
        deadline = time.monotonic() + 60
        while len(self.started()) < FIRST_SLOTS:
            if time.monotonic() > deadline:
                pytest.fail(f"the first server did not start {FIRST_SLOTS} tasks within 60 s")
            time.sleep(0.01)
        return run_id

    def resume_second(self) -> None:
        assert self.second.process is not None
        self.second.process.send_signal(signal.SIGCONT)

    def started(self) -> list[tuple[str, str]]:
        """(task id, API address of the server that started it), one per start."""
        if not self.starts.exists():
            return []
        words = self.starts.read_text().split()
        return list(zip(words[0::2], words[1::2], strict=True))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: the embedded SQLite file in the shared data directory. Else a fresh PostgreSQL
    database on the test server, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    admin_url = os.environ.get("TRAINPLAT_TEST_POSTGRES_URL")
    if not admin_url:
        if os.environ.get("CI") == "true":
            pytest.fail("TRAINPLAT_TEST_POSTGRES_URL is not set; CI tests on PostgreSQL")
        pytest.skip("PostgreSQL not available: TRAINPLAT_TEST_POSTGRES_URL is not set")
    name = f"trainplat_e2e_{uuid.uuid4().hex[:12]}"
    psql = ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)
    parts = urlsplit(admin_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    subprocess.run([*psql, f"DROP DATABASE {name} WITH (FORCE)"], check=True)


@pytest.fixture
def pair(trainplat_bin: Path, tmp_path: Path, database_url: str | None) -> Iterator[Pair]:
    """Two servers on one database, started one after the other (the first migrates it);
    tasks of 0.05 s unless the test sets another length."""
    servers: list[Server] = []
    for name, slots in (("a", FIRST_SLOTS), ("b", SECOND_SLOTS)):
        data_dir = tmp_path / ("data" if database_url is None else f"data-{name}")
        server = Server(trainplat_bin, data_dir)
        if database_url is not None:
            server.env["TRAINPLAT_DATABASE_URL"] = database_url
        server.env["TRAINPLAT_RATE_LIMIT_PER_SECOND"] = "10000"
        server.env["TRAINPLAT_MAX_CONCURRENT_TASKS"] = str(slots)
        servers.append(server)
    pair = Pair(servers[0], servers[1], tmp_path / "starts.log", tmp_path / "task.sh")
    pair.set_task_seconds(0.05)
    try:
        for server in servers:
            server.start()
        yield pair
    finally:
        for server in servers:
            if server.process is not None and server.process.poll() is None:
                server.process.send_signal(signal.SIGCONT)
            server.stop(signal.SIGTERM)


def test_two_schedulers_start_every_task_of_a_run_exactly_once(pair: Pair) -> None:
    # setup
    width, depth = 40, 5

    # act: both claim from the same ready tasks once the second resumes
    run_id = pair.start_run_with_second_paused(pair.layered_spec(width, depth))
    pair.resume_second()
    state = _wait_for_end(pair.second, run_id)

    # check
    tasks = state["tasks"]
    assert state["status"] == "succeeded", [(t["name"], t["status"]) for t in tasks]
    assert len(tasks) == width * depth
    started = Counter(task for task, _ in pair.started())
    # The API writes ids in capitals, a task's environment in lower case.
    assert started == Counter({t["id"].lower(): 1 for t in tasks}), started.most_common(3)
    by_server = Counter(server for _, server in pair.started())
    assert set(by_server) == {pair.first.api, pair.second.api}, by_server
    for task in tasks[:: width // 4]:  # a sample: every task's attempts would be 200 calls
        attempts = pair.first.call("GET", f"/api/v1/runs/{run_id}/tasks/{task['name']}/attempts")
        assert [(a["number"], a["status"]) for a in attempts] == [(1, "succeeded")]


def test_killed_scheduler_tasks_are_recovered_and_rerun_by_the_other(pair: Pair) -> None:
    # setup: the first server runs the run's first tasks, then dies with them running. They
    # take 2 s, so that none can end (and free a slot for a fifth) before the kill, however
    # slowly a loaded machine gets there; the survivor's take 0.5 s.
    width, depth = 10, 3
    pair.set_task_seconds(2)
    run_id = pair.start_run_with_second_paused(pair.layered_spec(width, depth))
    pair.first.stop(signal.SIGKILL)
    orphaned = {task for task, server in pair.started() if server == pair.first.api}
    pair.set_task_seconds(0.5)

    # act: the survivor resumes; the leases (3 heartbeats of 1 s) expire and it recovers them
    pair.resume_second()
    state = _wait_for_end(pair.second, run_id)

    # check
    tasks = state["tasks"]
    assert state["status"] == "succeeded", [(t["name"], t["status"]) for t in tasks]
    assert len(orphaned) == FIRST_SLOTS
    by_id = {t["id"].lower(): t for t in tasks}
    for task_id in orphaned:
        name = by_id[task_id]["name"]
        attempts = pair.second.call("GET", f"/api/v1/runs/{run_id}/tasks/{name}/attempts")
        assert [a["number"] for a in attempts] == [1, 2], (name, attempts)
        assert (attempts[0].get("reason") or "").startswith("lost:"), attempts[0]
        assert attempts[1]["status"] == "succeeded", attempts[1]
    started = Counter(task for task, _ in pair.started())
    expected = Counter({task_id: 2 if task_id in orphaned else 1 for task_id in by_id})
    assert started == expected, (started - expected, expected - started)


def _wait_for_end(server: Server, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state: dict[str, Any] = server.call("GET", f"/api/v1/runs/{run_id}")
        if state["status"] not in ("queued", "running"):
            return state
        time.sleep(0.2)
    pytest.fail(f"run {run_id} did not end within 180 s: {state['status']}")
