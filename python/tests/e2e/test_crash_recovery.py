"""kill -9 the server in the middle of a run: on restart the run completes, every task is
recorded succeeded exactly once, and tasks whose process died with the server are detected
through their expired lease and retried."""

import signal
import time
from typing import Any

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e


def _run_state(server: Server, run_id: str) -> dict[str, Any]:
    state: dict[str, Any] = server.call("GET", f"/api/v1/runs/{run_id}")
    return state


@pytest.mark.parametrize(
    ("tasks", "seconds_each", "concurrency", "done_before_kill"),
    [
        (40, 0.5, 4, 8),  # long tasks: several are surely running when the server dies
        (1000, 0.1, 8, 200),  # a big run: recovery must not lose or repeat any of 1,000
    ],
)
def test_kill_9_mid_run_then_restart_completes_every_task_exactly_once(
    server: Server, tasks: int, seconds_each: float, concurrency: int, done_before_kill: int
) -> None:
    # setup: a run of independent tasks, `concurrency` at a time
    server.env["TRAINPLAT_MAX_CONCURRENT_TASKS"] = str(concurrency)
    # The check reads every task's attempts: more requests than the default rate limit allows.
    server.env["TRAINPLAT_RATE_LIMIT_PER_SECOND"] = "10000"
    server.start()
    project = server.call("POST", "/api/v1/projects", {"name": "crash"})["id"]
    task = f"{{command: [sh, -c, \"sleep {seconds_each}; echo '{{}}' > outputs.json\"]}}"
    spec = "name: many\ntasks:\n" + "".join(f"  t{i}: {task}\n" for i in range(tasks))
    pipeline = server.call("POST", f"/api/v1/projects/{project}/pipelines", spec.encode())
    run_id = server.call("POST", f"/api/v1/pipelines/{pipeline['pipeline']['id']}/runs", {})["id"]

    # act: kill -9 once some tasks are done and others are running
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        statuses = [t["status"] for t in _run_state(server, run_id)["tasks"]]
        if statuses.count("succeeded") >= done_before_kill and "running" in statuses:
            break
        # A run's state lists every task: polling a big one fast would load the server.
        time.sleep(0.1 if tasks < 100 else 0.5)
    server.stop(signal.SIGKILL)
    server.start()
    deadline = time.monotonic() + 240
    while _run_state(server, run_id)["status"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(1)

    # check
    states = _run_state(server, run_id)["tasks"]
    assert [t["status"] for t in states] == ["succeeded"] * tasks
    lost = 0
    for t in states:
        attempts = server.call("GET", f"/api/v1/runs/{run_id}/tasks/{t['name']}/attempts")
        assert [a["status"] for a in attempts].count("succeeded") == 1, (t["name"], attempts)
        assert [a["number"] for a in attempts] == list(range(1, len(attempts) + 1))
        # A task claimed just before the kill may have had no attempt yet: then only the
        # task's own reason tells of its recovery.
        reasons = [a.get("reason") or "" for a in attempts] + [t.get("reason") or ""]
        lost += any(reason.startswith("lost:") for reason in reasons)
    assert lost >= 1, "no task was recovered from the killed server"
