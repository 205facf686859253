"""`trainplat mount …` against a running server: what the CLI sends is what the API stores."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e


def _cli(server: Server, binary: Path, *args: str) -> Any:
    env = {**os.environ, "TRAINPLAT_API_URL": server.api, "TRAINPLAT_API_TOKEN": server.token}
    result = subprocess.run(
        [str(binary), "mount", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_mount_cli_creates_gets_lists_reports_and_deletes(
    server: Server, trainplat_bin: Path, tmp_path: Path
) -> None:
    # setup
    server.start()
    project = server.call("POST", "/api/v1/projects", {"name": "cli"})["id"]
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value")
    # act
    created = _cli(
        server, trainplat_bin, "create", "--project", project, "--file", f"token={secret}",
        "creds(secret):/var/creds",
    )  # fmt: skip
    fetched = _cli(server, trainplat_bin, "get", "--project", project, created["id"])
    listed = _cli(server, trainplat_bin, "list", "--project", project)
    plan = _cli(server, trainplat_bin, "tiering", "--project", project)
    _cli(server, trainplat_bin, "delete", "--project", project, created["id"])
    after = _cli(server, trainplat_bin, "list", "--project", project)
    # check
    assert fetched["text"] == "creds(secret):/var/creds"
    assert fetched["keys"] == ["token"]
    assert "s3cr3t-value" not in json.dumps(fetched) + json.dumps(listed)
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert plan["moves"] == []
    assert plan["bytes_moved"] == 0
    assert after["total"] == 0
