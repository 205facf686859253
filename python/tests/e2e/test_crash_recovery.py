"""kill -9 the server in the middle of a run: on restart the run completes, every task is
recorded succeeded exactly once, and tasks whose process died with the server are detected
through their expired lease and retried."""

import signal
import time
from typing import Any

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

TASKS = 40


def _run_state(server: Server, run_id: str) -> dict[str, Any]:
    state: dict[str, Any] = server.call("GET", f"/api/v1/runs/{run_id}")
    return state


def test_kill_9_mid_run_then_restart_completes_every_task_exactly_once(server: Server) -> None:
    # setup: a run of 40 half-second tasks, four at a time
    server.start()
    project = server.call("POST", "/api/v1/projects", {"name": "crash"})["id"]
    task = "{command: [sh, -c, \"sleep 0.5; echo '{}' > outputs.json\"]}"
    spec = "name: many\ntasks:\n" + "".join(f"  t{i}: {task}\n" for i in range(TASKS))
    pipeline = server.call("POST", f"/api/v1/projects/{project}/pipelines", spec.encode())
    run_id = server.call("POST", f"/api/v1/pipelines/{pipeline['pipeline']['id']}/runs", {})["id"]

    # act: kill -9 once some tasks are done and others are running
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statuses = [t["status"] for t in _run_state(server, run_id)["tasks"]]
        if statuses.count("succeeded") >= 8 and "running" in statuses:
            break
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    server.start()
    deadline = time.monotonic() + 180
    while _run_state(server, run_id)["status"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.5)

    # check
    tasks = _run_state(server, run_id)["tasks"]
    assert [t["status"] for t in tasks] == ["succeeded"] * TASKS
    lost = 0
    for t in tasks:
        attempts = server.call("GET", f"/api/v1/runs/{run_id}/tasks/{t['name']}/attempts")
        assert [a["status"] for a in attempts].count("succeeded") == 1, (t["name"], attempts)
        lost += sum(1 for a in attempts if (a.get("reason") or "").startswith("lost:"))
    assert lost >= 1, "no attempt was recovered from the killed server"
