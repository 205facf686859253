"""`trainplat demo` end to end: the real binary seeds the embedded source, runs the pipeline
through its scheduler and the Python task processes, and serves what it printed."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

DEMO_TIMEOUT_S = 300


@dataclass
class DemoSummary:
    process: subprocess.Popen[str]
    lines: list[str]
    api: str
    run_id: str
    training_set_version: str
    training_set_rows: int
    model_version: str
    token: str


def _read_summary(process: subprocess.Popen[str]) -> DemoSummary:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + DEMO_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.strip().startswith("API:"):
            break
    text = "\n".join(lines)
    api = re.search(r"API:\s+(http://127\.0\.0\.1:\d+)", text)
    run = re.search(r"^run ([0-9a-f-]{36}) succeeded", text, re.MULTILINE)
    training_set = re.search(r"training-set version:\s+([0-9a-f]{64}) \((\d+) rows\)", text)
    model = re.search(r"model version:\s+([0-9a-f-]{36})", text)
    password = re.search(r"admin login for the API: demo / (\S+)", text)
    summary_missing = f"demo output lacks its summary:\n{text}"
    assert api, summary_missing
    assert run, summary_missing
    assert training_set, summary_missing
    assert model, summary_missing
    assert password, summary_missing
    token = _login(api[1], "demo", password[1])
    return DemoSummary(
        process, lines, api[1], run[1], training_set[1], int(training_set[2]), model[1], token
    )


def _login(api: str, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        f"{api}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["access_token"]
    return token


@pytest.fixture(scope="module")
def demo(trainplat_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSummary]:
    data_dir = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "TRAINPLAT_DATA_DIR": str(data_dir),
        "TRAINPLAT_PORT": "0",
        "TRAINPLAT_PYTHON": sys.executable,
    }
    process = subprocess.Popen(
        [str(trainplat_bin), "demo"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        yield _read_summary(process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def _get(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_demo_prints_ids_that_the_api_serves(demo: DemoSummary) -> None:
    run = _get(f"{demo.api}/api/v1/runs/{demo.run_id}", demo.token)
    assert run["status"] == "succeeded"
    assert sorted(task["status"] for task in run["tasks"]) == ["succeeded"] * 6

    training_set = _get(
        f"{demo.api}/api/v1/training-set-versions/{demo.training_set_version}", demo.token
    )
    assert training_set["row_count"] == demo.training_set_rows
    assert training_set["pipeline_run_id"].lower() == demo.run_id

    model = _get(f"{demo.api}/api/v1/model-versions/{demo.model_version}", demo.token)
    assert model["metrics"]["evaluation"]["auc"] > 0.6


def test_demo_shows_progress_while_running(demo: DemoSummary) -> None:
    progress = [line for line in demo.lines if re.search(r"train\s+running\s+\d+% epoch", line)]
    assert progress, "no epoch progress was printed for the train task"


def test_demo_metrics_count_its_requests_and_tasks(demo: DemoSummary) -> None:
    _get(f"{demo.api}/api/v1/runs/{demo.run_id}", demo.token)
    with urllib.request.urlopen(f"{demo.api}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert re.search(r"hb_requests\{[^}]*/api/v1/runs/\{id\}", metrics), metrics[:2000]
    succeeded = re.search(r'trainplat_task_transitions_total\{state="succeeded"\} (\d+)', metrics)
    assert succeeded
    assert int(succeeded[1]) >= 6


def test_demo_api_refuses_anonymous_callers(demo: DemoSummary) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(f"{demo.api}/api/v1/runs/{demo.run_id}")
    assert refused.value.code == 401


def test_cli_submits_a_pipeline_starts_and_follows_a_run(
    demo: DemoSummary, trainplat_bin: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "TRAINPLAT_API_URL": demo.api, "TRAINPLAT_API_TOKEN": demo.token}

    def cli(*args: str) -> str:
        result = subprocess.run(
            [str(trainplat_bin), *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    project = _get(f"{demo.api}/api/v1/projects", demo.token)["items"][0]["id"]
    spec = tmp_path / "hello.yaml"
    spec.write_text(
        "name: cli-hello\nparams: {who: {type: string}}\ntasks:\n"
        "  hello: {command: [sh, -c, \"echo hello {{ params.who }}; echo '{}' > outputs.json\"]}\n"
    )
    pipeline = json.loads(cli("pipeline", "submit", "--project", project, str(spec)))
    run = json.loads(cli("run", "start", pipeline["pipeline"]["id"], "--param", "who=world"))
    deadline = time.monotonic() + 60
    while "succeeded" not in cli("run", "show", run["id"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "hello                succeeded" in cli("run", "show", run["id"])
    assert cli("run", "log", run["id"], "hello").strip() == "hello world"
    assert cli("run", "log", "--follow", run["id"], "hello").strip() == "hello world"


def test_cli_reports_the_servers_problem_and_an_unreachable_api(
    demo: DemoSummary, trainplat_bin: Path
) -> None:
    def failing_cli(api: str, *args: str) -> str:
        env = {**os.environ, "TRAINPLAT_API_URL": api, "TRAINPLAT_API_TOKEN": demo.token}
        result = subprocess.run(
            [str(trainplat_bin), *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1, result
        return result.stderr

    missing = "00000000-0000-0000-0000-000000000000"
    refused = failing_cli(demo.api, "run", "show", missing)
    assert f"GET /api/v1/runs/{missing} failed (404)" in refused
    assert "not found" in refused.lower()
    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert f"cannot reach {closed}" in failing_cli(closed, "run", "show", missing)


# Last: it stops the server the module shares.
def test_demo_stops_cleanly_on_ctrl_c(demo: DemoSummary) -> None:
    assert _get(f"{demo.api}/ready")["status"] == "ready"
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=60) == 0
