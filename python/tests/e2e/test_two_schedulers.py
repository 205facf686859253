"""Two servers, so two schedulers, on one database: every task of a run is started exactly
once, both schedulers run a share of it, and the run succeeds. On the embedded SQLite file
(both servers share one data directory, as two processes on one host would) and on
PostgreSQL (each server its own data directory, as on two hosts).

Each task appends its id and the API address of the server that started it to one file, so
a task started twice shows twice there even if the database recorded one attempt."""

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

WIDTH, DEPTH = 40, 5  # 200 tasks in layers: each needs two of the layer before


def _layered_spec(script: Path) -> str:
    lines = ["name: shared", "tasks:"]
    for layer in range(DEPTH):
        for index in range(WIDTH):
            needs = (
                f", needs: [l{layer - 1}_{index}, l{layer - 1}_{(index + 1) % WIDTH}]"
                if layer
                else ""
            )
            lines.append(f"  l{layer}_{index}: {{command: [sh, '{script}']{needs}}}")
    return "\n".join(lines) + "\n"


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


def test_two_schedulers_start_every_task_of_a_run_exactly_once(
    trainplat_bin: Path, tmp_path: Path, database_url: str | None
) -> None:
    # setup: two servers on one database; the second starts once the first has migrated it.
    # The limit of running tasks counts every scheduler's: the first may fill 4 slots, the
    # second 8, so the second always finds slots free however fast the first refills its own.
    servers: list[Server] = []
    for name, slots in (("a", 4), ("b", 8)):
        data_dir = tmp_path / ("data" if database_url is None else f"data-{name}")
        server = Server(trainplat_bin, data_dir)
        if database_url is not None:
            server.env["TRAINPLAT_DATABASE_URL"] = database_url
        server.env["TRAINPLAT_RATE_LIMIT_PER_SECOND"] = "10000"
        server.env["TRAINPLAT_MAX_CONCURRENT_TASKS"] = str(slots)
        servers.append(server)
    starts = tmp_path / "starts.log"
    script = tmp_path / "task.sh"
    script.write_text(
        f'echo "$TRAINPLAT_TASK_ID $TRAINPLAT_API_URL" >> "{starts}"\n'
        "sleep 0.05\n"
        "echo '{}' > outputs.json\n"
    )
    try:
        for server in servers:
            server.start()
        first, second = servers
        project = first.call("POST", "/api/v1/projects", {"name": "shared"})["id"]
        spec = _layered_spec(script).encode()
        pipeline = first.call("POST", f"/api/v1/projects/{project}/pipelines", spec)

        # act: the run is started through the first server, which claims its first tasks
        # while the second is paused; then the second finds the run in the database and both
        # claim from the same ready tasks until the run ends
        assert second.process is not None
        second.process.send_signal(signal.SIGSTOP)
        try:
            path = f"/api/v1/pipelines/{pipeline['pipeline']['id']}/runs"
            run_id = first.call("POST", path, {})["id"]
            _wait_for_lines(starts, 4)
        finally:
            second.process.send_signal(signal.SIGCONT)
        state = _wait_for_end(second, run_id)

        # check
        tasks = state["tasks"]
        assert state["status"] == "succeeded", [(t["name"], t["status"]) for t in tasks]
        assert len(tasks) == WIDTH * DEPTH
        lines = starts.read_text().split()
        started = Counter(lines[0::2])
        # The API writes ids in capitals, a task's environment in lower case.
        assert started == Counter({t["id"].lower(): 1 for t in tasks}), started.most_common(3)
        by_server = Counter(lines[1::2])
        assert set(by_server) == {first.api, second.api}, by_server
        for task in tasks[:: WIDTH // 4]:  # a sample: every task's attempts would be 200 calls
            attempts = first.call("GET", f"/api/v1/runs/{run_id}/tasks/{task['name']}/attempts")
            assert [(a["number"], a["status"]) for a in attempts] == [(1, "succeeded")]
    finally:
        for server in servers:
            server.stop(signal.SIGTERM)


def _wait_for_lines(path: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return
        time.sleep(0.01)
    pytest.fail(f"the first server did not start {count} tasks within 60 s")


def _wait_for_end(server: Server, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state: dict[str, Any] = server.call("GET", f"/api/v1/runs/{run_id}")
        if state["status"] not in ("queued", "running"):
            return state
        time.sleep(0.2)
    pytest.fail(f"run {run_id} did not end within 180 s: {state['status']}")
