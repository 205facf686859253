"""The demo pipeline through the process contract, as the control plane runs it:
synthetic source -> doris.extract (two windows) -> datasets.training_set -> learning.train
-> learning.evaluate on the later window."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run_task(root: Path, task: str, uses: str, arguments: dict[str, Any]) -> dict[str, Any]:
    task_dir = root / task
    task_dir.mkdir()
    inputs = {
        "task": task,
        "uses": uses,
        "run": {"id": "it-run", "logical_time": "2026-03-01T00:00:00Z"},
        "with": arguments,
    }
    (task_dir / "inputs.json").write_text(json.dumps(inputs))
    env = {**os.environ, "TRAINPLAT_TASK_DIR": str(task_dir), "TRAINPLAT_RUN_ID": "it-run"}
    completed = subprocess.run(
        [sys.executable, "-m", "trainplat.tasks", uses],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document: dict[str, Any] = json.loads((task_dir / "outputs.json").read_text())
    return document


@pytest.mark.integration
def test_pipeline_extract_train_evaluate(tmp_path: Path) -> None:
    source = tmp_path / "doris.sqlite"
    subprocess.run(
        [sys.executable, "-m", "trainplat.synthetic", "--out", str(source), "--start",
         "2026-01-01T00:00:00Z", "--end", "2026-03-01T00:00:00Z", "--entities", "800",
         "--features", "30", "--seed", "7", "--drift", "0.3"],
        check=True, timeout=120,
    )  # fmt: skip
    windows = {
        "early": ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        "late": ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
    }
    sets = {}
    for name, (start, end) in windows.items():
        extracted = run_task(
            tmp_path, f"extract-{name}", "doris.extract",
            {"source": str(source), "start": start, "end": end},
        )  # fmt: skip
        built = run_task(
            tmp_path, f"trainset-{name}", "datasets.training_set",
            {"snapshots": extracted["outputs"]["snapshots"]},
        )  # fmt: skip
        assert built["training_set_version"]["content_hash"] == built["outputs"]["version"]
        sets[name] = built["outputs"]["training_set"]

    trained = run_task(tmp_path, "train", "learning.train", {"training_set": sets["early"]})
    scored = run_task(
        tmp_path, "evaluate", "learning.evaluate",
        {"model": trained["outputs"]["model"], "training_set": sets["late"]},
    )  # fmt: skip

    assert trained["model_version"]["artifact_uri"].startswith("file://")
    assert scored["metrics"]["auc"] > 0.65
