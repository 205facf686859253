"""s3 mounts end to end against a real S3-protocol server (moto). Two users of one project
run the same pipeline at once; each task writes through its mount with
trainplat.storage.mounts, and each user's object lands under, and is seen only from, that
user's own prefix. With a task role configured, each task gets credentials that cannot
reach another owner's prefix or write to a read-only mount, and the project's s3 objects
count against its object quota."""

import os
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUCKET_FOR_IAM, S3Server
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e

BUCKET = BUCKET_FOR_IAM
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
PROBE = Path(__file__).with_name("s3_probe_task.py")
PROBE_SPEC = f"""
name: s3-scoped
params:
  victim: {{type: string}}
tasks:
  probe:
    command: [python, {PROBE}, "{{{{ params.victim }}}}"]
    mounts: "{BUCKET}/sets(s3):/mnt/sets,{BUCKET}/models(s3):/mnt/models:ro"
    timeout: 60s
"""


def _start(server: Server, s3: S3Server) -> None:
    """Points the server's s3 mounts at moto (through the task role when it has one);
    `python` is this venv's."""
    server.env |= {
        "TRAINPLAT_S3_ENDPOINT": s3.endpoint,
        "TRAINPLAT_S3_BUCKETS": BUCKET,
        "TRAINPLAT_S3_ACCESS_KEY_ID": s3.access_key_id,
        "TRAINPLAT_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
        "TRAINPLAT_S3_REGION": s3.region,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    if s3.role_arn:
        server.env["TRAINPLAT_S3_ROLE_ARN"] = s3.role_arn
    server.start()


def _project_with_users(server: Server) -> tuple[str, dict[str, str], dict[str, str]]:
    """A project with USERS as members: its id, their ids and their access tokens."""
    user_ids = {
        name: server.call("POST", "/api/v1/users", {"username": name, "password": PASSWORD})["id"]
        for name in USERS
    }
    project: str = server.call("POST", "/api/v1/projects", {"name": "s3-mounts"})["id"]
    for name in USERS:
        member = {"username": name, "role": "member"}
        server.call("POST", f"/api/v1/projects/{project}/members", member)
    tokens = {name: server.login(name, PASSWORD) for name in USERS}
    return project, user_ids, tokens


def _register(server: Server, project: str, spec: str, token: str) -> str:
    """Registers `spec` in `project` as the user of `token`: the path that starts its runs."""
    path = f"/api/v1/projects/{project}/pipelines"
    registered = server.call("POST", path, spec.encode(), token=token)
    return f"/api/v1/pipelines/{registered['pipeline']['id']}/runs"


def _prefix(project: str, user_id: str, below: str) -> str:
    return f"{BUCKET}/project_{project.lower()}/user_{user_id.lower()}/{below}"


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
    # setup
    s3_server.filesystem().mkdir(BUCKET)
    _start(server, s3_server)
    project, user_ids, tokens = _project_with_users(server)
    start = _register(server, project, SPEC, tokens["alice"])

    # act: both users start the same pipeline at once
    run_ids = {
        name: server.call("POST", start, {}, token=tokens[name])["id"].lower() for name in USERS
    }
    runs = {name: _wait_until_finished(server, run_ids[name], tokens[name]) for name in USERS}

    # check: each object under its user's prefix, and each task saw only its own
    prefixes = {name: _prefix(project, user_ids[name], "sets") for name in USERS}
    assert sorted(s3_server.filesystem().find(BUCKET)) == sorted(
        f"{prefixes[name]}/{run_ids[name]}.txt" for name in USERS
    )
    for name in USERS:
        assert runs[name]["status"] == "succeeded", runs[name]
        outputs = runs[name]["tasks"][0]["outputs"]
        assert outputs == {"location": f"s3://{prefixes[name]}/", "seen": [f"{run_ids[name]}.txt"]}


def test_scoped_credentials_reach_only_the_tasks_own_prefixes(
    server: Server, s3_server_with_iam: S3Server
) -> None:
    # setup: each user's task will try to read and write an object of the other user
    s3 = s3_server_with_iam
    _start(server, s3)
    project, user_ids, tokens = _project_with_users(server)
    victims = {name: _prefix(project, user_ids[name], "sets/private.txt") for name in USERS}
    for victim in victims.values():
        s3.filesystem().pipe(victim, b"private")
    start = _register(server, project, PROBE_SPEC, tokens["alice"])

    # act: both users at once, each aiming at the other's object
    other = {"alice": "bob", "bob": "alice"}
    run_ids = {
        name: server.call(
            "POST", start, {"params": {"victim": victims[other[name]]}}, token=tokens[name]
        )["id"].lower()
        for name in USERS
    }
    runs = {name: _wait_until_finished(server, run_ids[name], tokens[name]) for name in USERS}

    # check: own prefix usable; the other's and the read-only mount refused; not root keys
    for name in USERS:
        assert runs[name]["status"] == "succeeded", runs[name]
        outputs = runs[name]["tasks"][0]["outputs"]
        assert outputs["own_write"] == "allowed"
        assert outputs["own_read"] == run_ids[name]
        assert outputs["foreign_read"].startswith("denied"), outputs
        assert outputs["foreign_write"].startswith("denied"), outputs
        assert outputs["read_only_write"].startswith("denied"), outputs
        assert outputs["has_session_token"] is True
        assert outputs["access_key_id"] != s3.access_key_id
    assert sorted(s3.filesystem().find(BUCKET)) == sorted(
        [*victims.values()]
        + [_prefix(project, user_ids[name], f"sets/{run_ids[name]}.txt") for name in USERS]
    )


def test_object_quota_counts_s3_objects_and_stops_a_run_at_the_limit(
    server: Server, s3_server_with_iam: S3Server
) -> None:
    # setup: alice holds 3 objects (12 bytes), bob 1; alice's object quota is 3
    s3 = s3_server_with_iam
    _start(server, s3)
    project, user_ids, tokens = _project_with_users(server)
    for index in range(3):
        s3.filesystem().pipe(_prefix(project, user_ids["alice"], f"sets/{index}.bin"), b"abcd")
    s3.filesystem().pipe(_prefix(project, user_ids["bob"], "sets/0.bin"), b"ab")
    quota = {"user_id": user_ids["alice"], "max_bytes": 1 << 30, "max_objects": 3}
    server.call("PUT", f"/api/v1/projects/{project}/storage/quota", quota)
    start = _register(server, project, SPEC, tokens["alice"])

    # act
    report = server.call("GET", f"/api/v1/projects/{project}/storage")
    with pytest.raises(urllib.error.HTTPError) as refused:
        server.call("POST", start, {}, token=tokens["alice"])
    bobs_run = server.call("POST", start, {}, token=tokens["bob"])

    # check: usage per user and in total, the refusal's reason, bob unaffected
    standings = {standing["user_id"].lower(): standing for standing in report["users"]}
    alice, bob = standings[user_ids["alice"].lower()], standings[user_ids["bob"].lower()]
    assert (alice["objects"], alice["by_type"]["s3"], alice["quota_objects"]) == (3, 12, 3)
    assert (bob["objects"], bob["by_type"]["s3"], "quota_objects" in bob) == (1, 2, False)
    assert (report["project"]["objects"], report["project"]["used_bytes"]) == (4, 14)
    assert refused.value.code == 409
    assert "holds 3 s3 objects of a 3-object quota" in refused.value.read().decode()
    assert _wait_until_finished(server, bobs_run["id"], tokens["bob"])["status"] == "succeeded"
