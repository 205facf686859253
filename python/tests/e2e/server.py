"""A `trainplat serve` process for end-to-end tests, and calls to its API."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ADMIN_PASSWORD = "e2e-test-admin-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    def __init__(self, binary: Path, data_dir: Path) -> None:
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        # Tests add their own variables before start().
        self.env = {
            **os.environ,
            "TRAINPLAT_DATA_DIR": str(data_dir),
            "TRAINPLAT_PORT": str(self.port),
            "TRAINPLAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TRAINPLAT_HEARTBEAT_SECONDS": "1",
            "TRAINPLAT_MAX_CONCURRENT_TASKS": "4",
            "TRAINPLAT_LOG_LEVEL": "warning",
        }
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        # The admin's access token, which call() uses unless given another.
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
        self.token = self.login("admin", ADMIN_PASSWORD)

    def login(self, username: str, password: str) -> str:
        body = {"username": username, "password": password}
        token: str = self.call("POST", "/api/v1/auth/login", body, auth=False)["access_token"]
        return token

    def call(
        self, method: str, path: str, body: Any = None, auth: bool = True, token: str = ""
    ) -> Any:
        data = (
            body
            if isinstance(body, bytes)
            else json.dumps(body).encode()
            if body is not None
            else None
        )
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {token or self.token}"
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        # Generous: on a loaded 2-core machine the state of a 1,000-task run being recovered
        # can take seconds to answer; a server that hangs still fails the test.
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")

    def stop(self, sig: signal.Signals) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                # Still a failure (the server must stop on its signal), but leave no server behind.
                self.process.kill()
                self.process.wait()
                raise
