"""s3 mounts end to end: two users of one project run the same pipeline at once against a
real S3-protocol server (moto); each task writes through its mount with
trainplat.storage.mounts, and each user's object lands under, and is seen only from, that
user's own prefix."""

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import S3Server
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

BUCKET = "training-data"
USERS = ("alice", "bob")
PASSWORD = "s3-mounts-user-password"
TASK = Path(__file__).with_name("s3_mount_task.py")
SPEC = f"""
name: s3-mounts
tasks:
  write:
    command: [python, {TASK}]
    mounts: "{BUCKET}/sets(s3):/mnt/sets"
    timeout: 30s
"""


def _wait_until_finished(server: Server, run_id: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        run: dict[str, Any] = server.call("GET", f"/api/v1/runs/{run_id}", token=token)
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish within 40 s: {run}")


def test_each_user_reads_and_writes_only_their_own_s3_prefix(
    server: Server, s3_server: S3Server
) -> None:
    # setup: the server points s3 mounts at moto; `python` is this venv's
    s3_server.filesystem().mkdir(BUCKET)
    server.env |= {
        "TRAINPLAT_S3_ENDPOINT": s3_server.endpoint,
        "TRAINPLAT_S3_BUCKETS": BUCKET,
        "TRAINPLAT_S3_ACCESS_KEY_ID": s3_server.access_key_id,
        "TRAINPLAT_S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "TRAINPLAT_S3_REGION": s3_server.region,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    server.start()
    user_ids = {
        name: server.call("POST", "/api/v1/users", {"username": name, "password": PASSWORD})["id"]
        for name in USERS
    }
    project = server.call("POST", "/api/v1/projects", {"name": "s3-mounts"})["id"]
    for name in USERS:
        member = {"username": name, "role": "member"}
        server.call("POST", f"/api/v1/projects/{project}/members", member)
    tokens = {name: server.login(name, PASSWORD) for name in USERS}
    registered = server.call(
        "POST", f"/api/v1/projects/{project}/pipelines", SPEC.encode(), token=tokens["alice"]
    )
    pipeline = registered["pipeline"]["id"]

    # act: both users start the same pipeline at once
    start = f"/api/v1/pipelines/{pipeline}/runs"
    run_ids = {
        name: server.call("POST", start, {}, token=tokens[name])["id"].lower() for name in USERS
    }
    runs = {name: _wait_until_finished(server, run_ids[name], tokens[name]) for name in USERS}

    # check: each object under its user's prefix, and each task saw only its own
    prefixes = {
        name: f"{BUCKET}/project_{project.lower()}/user_{user_ids[name].lower()}/sets"
        for name in USERS
    }
    assert sorted(s3_server.filesystem().find(BUCKET)) == sorted(
        f"{prefixes[name]}/{run_ids[name]}.txt" for name in USERS
    )
    for name in USERS:
        assert runs[name]["status"] == "succeeded", runs[name]
        outputs = runs[name]["tasks"][0]["outputs"]
        assert outputs == {"location": f"s3://{prefixes[name]}/", "seen": [f"{run_ids[name]}.txt"]}
