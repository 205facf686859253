"""kill -9 the server in the middle of a run: on restart the run completes, every task is
recorded succeeded exactly once, and tasks whose process died with the server are detected
through their expired lease and retried."""

import signal
import time
from pathlib import Path
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
        (40, 0.5, 4, 8),
        (1000, 0.1, 8, 200),  # a big run: recovery must not lose or repeat any of 1,000
    ],
)
def test_kill_9_mid_run_then_restart_completes_every_task_exactly_once(
    server: Server,
    tasks: int,
    seconds_each: float,
    concurrency: int,
    done_before_kill: int,
    tmp_path: Path,
) -> None:
    # setup: a run of independent tasks, `concurrency` at a time, plus one task ("hold") that
    # waits for a gate file the test opens only after the restart, so it is surely running
    # when the server dies however slow the machine is, and its recovery is checked every time
    server.env["TRAINPLAT_MAX_CONCURRENT_TASKS"] = str(concurrency)
    # The check reads every task's attempts: more requests than the default rate limit allows.
    server.env["TRAINPLAT_RATE_LIMIT_PER_SECOND"] = "10000"
    server.start()
    project = server.call("POST", "/api/v1/projects", {"name": "crash"})["id"]

    def task(seconds: float) -> str:
        return f"{{command: [sh, -c, \"sleep {seconds}; echo '{{}}' > outputs.json\"]}}"

    gate = tmp_path / "gate"
    # Waits at most 10 minutes, so a broken test cannot leave the task behind for ever.
    hold = (
        '{command: [sh, -c, "for i in $(seq 3000); do '
        f"[ -e '{gate}' ] && break; sleep 0.2; done; echo '{{}}' > outputs.json\"]}}"
    )
    spec = f"name: many\ntasks:\n  hold: {hold}\n" + "".join(
        f"  t{i}: {task(seconds_each)}\n" for i in range(tasks)
    )
    pipeline = server.call("POST", f"/api/v1/projects/{project}/pipelines", spec.encode())
    run_id = server.call("POST", f"/api/v1/pipelines/{pipeline['pipeline']['id']}/runs", {})["id"]

    # act: kill -9 while "hold" runs and once some of the others are done
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = {t["name"]: t["status"] for t in _run_state(server, run_id)["tasks"]}
        done = list(state.values()).count("succeeded")
        if state["hold"] == "running" and done >= done_before_kill:
            break
        # A run's state lists every task: polling a big one fast would load the server.
        time.sleep(0.1 if tasks < 100 else 0.5)
    else:
        pytest.fail(f"never saw 'hold' running with {done_before_kill} tasks done: {state}")
    server.stop(signal.SIGKILL)
    server.start()
    gate.touch()
    deadline = time.monotonic() + 300
    while _run_state(server, run_id)["status"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(1)

    # check
    states = _run_state(server, run_id)["tasks"]
    assert [t["status"] for t in states] == ["succeeded"] * (tasks + 1)
    for t in states:
        attempts = server.call("GET", f"/api/v1/runs/{run_id}/tasks/{t['name']}/attempts")
        assert [a["status"] for a in attempts].count("succeeded") == 1, (t["name"], attempts)
        assert [a["number"] for a in attempts] == list(range(1, len(attempts) + 1))
    hold = server.call("GET", f"/api/v1/runs/{run_id}/tasks/hold/attempts")
    assert (hold[0].get("reason") or "").startswith("lost:"), hold
