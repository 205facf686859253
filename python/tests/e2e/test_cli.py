"""Bad invocations of the binary print what is wrong and exit non-zero."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[3]


def _run(
    binary: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_cli_unknown_flag_prints_usage(trainplat_bin: Path) -> None:
    result = _run(trainplat_bin, "--frobnicate")
    assert result.returncode != 0
    assert "Unknown option '--frobnicate'" in result.stderr
    assert "Usage:" in result.stderr


def test_cli_bad_config_names_the_variable(trainplat_bin: Path) -> None:
    env = {"TRAINPLAT_PORT": "eighty", "PATH": "/usr/bin:/bin"}
    result = _run(trainplat_bin, "migrate", env=env)
    assert result.returncode != 0
    assert "TRAINPLAT_PORT='eighty'" in result.stderr


def test_cli_pipeline_validate_reports_every_error(trainplat_bin: Path, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\ntasks:\n  a: {uses: nope.nope, needs: [ghost]}\n")
    result = _run(trainplat_bin, "pipeline", "validate", str(spec))
    assert result.returncode == 1
    assert "tasks.a.uses (line 3" in result.stderr
    assert "tasks.a.needs[0]" in result.stderr


def test_cli_pipeline_validate_accepts_the_shipped_demo(trainplat_bin: Path) -> None:
    spec = REPO / "examples/pipelines/demo-pipeline.yaml"
    result = _run(trainplat_bin, "pipeline", "validate", str(spec))
    assert result.returncode == 0, result.stderr
    expected = "valid pipeline 'demo-train-evaluate' with 6 tasks, 2 ready at the start"
    assert expected in result.stdout


def test_cli_doris_preview_shows_a_window(trainplat_bin: Path, tmp_path: Path) -> None:
    source = tmp_path / "snapshots.sqlite"
    subprocess.run(
        [
            *(sys.executable, "-m", "trainplat.synthetic", "--out", str(source)),
            *(
                "--entities",
                "5",
                "--start",
                "2026-01-01T00:00:00Z",
                "--end",
                "2026-01-02T00:00:00Z",
            ),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "TRAINPLAT_PYTHON": sys.executable}
    result = _run(
        trainplat_bin,
        "doris",
        "preview",
        "--source",
        str(source),
        "--limit",
        "2",
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-02T00:00:00Z",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "-- 2 rows shown" in result.stdout
