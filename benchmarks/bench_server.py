"""`trainplat serve` for the benchmarks: a staged copy of the built binary on a free port
with its own data directory, and a small JSON client. Imported by benchmarks/*/run.py."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "bench-admin-password"


def binary() -> Path:
    if os.environ.get("TRAINPLAT_BIN"):
        return Path(os.environ["TRAINPLAT_BIN"])
    release = ROOT / ".build/release/trainplat"
    return release if release.is_file() else ROOT / ".build/debug/trainplat"


def stage_binary(scratch: Path) -> Path:
    """A copy of the binary and its resource bundles, so a rebuild of the tree during the
    run (others build in it) does not change or break the server under test."""
    source = binary()
    target = scratch / "bin"
    target.mkdir()
    shutil.copy2(source, target / source.name)
    for bundle in source.parent.glob("*.resources"):
        shutil.copytree(bundle, target / bundle.name)
    return target / source.name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`trainplat serve` on a free port with its own data directory."""

    def __init__(
        self, program: Path, data_dir: Path, extra_env: dict[str, str], timeout: float = 30
    ) -> None:
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.timeout = timeout
        # The admin's token once login_admin() ran; call() uses it unless given another.
        self.token = ""
        # SQLite in the data directory unless extra_env names another database.
        inherited = {
            key: value for key, value in os.environ.items() if key != "TRAINPLAT_DATABASE_URL"
        }
        self.env = {
            **inherited,
            "TRAINPLAT_DATA_DIR": str(data_dir),
            "TRAINPLAT_PORT": str(self.port),
            "TRAINPLAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TRAINPLAT_LOG_LEVEL": "warning",
            "TRAINPLAT_RATE_LIMIT_PER_SECOND": "100000",
            # The runs outlast the default 15 min access token.
            "TRAINPLAT_ACCESS_TOKEN_TTL_SECONDS": "86400",
            **extra_env,
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(program), "serve"], env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.call("GET", "/ready")["status"] == "ready":
                    break
            except (OSError, ValueError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.flush()
                    tail = Path(self.log.name).read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the server did not start:\n{tail}") from None
                time.sleep(0.2)

    def call(self, method: str, path: str, body: Any = None, token: str = "") -> Any:
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        request = urllib.request.Request(
            self.api + path,
            data=data.encode() if isinstance(data, str) else data,
            method=method,
            headers=headers,
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"{}")

    def login_admin(self) -> None:
        self.token = self.login("admin", ADMIN_PASSWORD)

    def login(self, username: str, password: str) -> str:
        body = {"username": username, "password": password}
        token: str = self.call("POST", "/api/v1/auth/login", body)["access_token"]
        return token

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
