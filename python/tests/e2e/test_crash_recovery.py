"""kill -9 the server in the middle of a run: on restart the run completes, every task is
recorded succeeded exactly once, and tasks whose process died with the server are detected
through their expired lease and retried."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

TASKS = 40
PASSWORD = "crash-test-admin-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    def __init__(self, binary: Path, data_dir: Path) -> None:
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TRAINPLAT_DATA_DIR": str(data_dir),
            "TRAINPLAT_PORT": str(self.port),
            "TRAINPLAT_ADMIN_PASSWORD": PASSWORD,
            "TRAINPLAT_HEARTBEAT_SECONDS": "1",
            "TRAINPLAT_MAX_CONCURRENT_TASKS": "4",
            "TRAINPLAT_LOG_LEVEL": "warning",
        }
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def start(self) -> None:
        self.process = subprocess.Popen([str(self.binary), "serve"], env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.call("GET", "/ready", auth=False)["status"] == "ready":
                    break
            except OSError:
                time.sleep(0.2)
        login = {"username": "admin", "password": PASSWORD}
        self.token = self.call("POST", "/api/v1/auth/login", login, auth=False)["access_token"]

    def call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        data = (
            body
            if isinstance(body, bytes)
            else json.dumps(body).encode()
            if body is not None
            else None
        )
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def stop(self, sig: signal.Signals) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)


@pytest.fixture
def server(trainplat_bin: Path, tmp_path: Path) -> Iterator[Server]:
    server = Server(trainplat_bin, tmp_path / "data")
    yield server
    server.stop(signal.SIGTERM)


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
