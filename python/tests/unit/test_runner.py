import inspect
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from tests.unit.conftest import SourceFactory, snapshot
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.registry import REGISTRY
from trainplat.tasks.result import TaskResult
from trainplat.tasks.runner import EXIT_BAD_INPUTS, EXIT_OK, EXIT_TASK_FAILED, run_task


class EchoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    fail: bool = False


def echo(context: TaskContext, *, text: str, fail: bool = False) -> TaskResult:
    if fail:
        raise RuntimeError("asked to fail")
    context.report_progress(0.5, "halfway")
    return TaskResult(outputs={"echo": text, "run": context.run_id}, metrics={"length": len(text)})


ECHO_REGISTRY = {"test.echo": TaskProgram(name="test.echo", arguments=EchoArgs, function=echo)}


def write_inputs(task_dir: Path, uses: str, arguments: dict[str, Any]) -> None:
    document = {
        "task": "step",
        "uses": uses,
        "run": {"id": "run-1", "logical_time": "2026-11-29T00:00:00Z"},
        "with": arguments,
    }
    (task_dir / "inputs.json").write_text(json.dumps(document))


def run(task_dir: Path, name: str, registry: Any = None) -> tuple[int, str]:
    stderr = io.StringIO()
    env = {"TRAINPLAT_TASK_DIR": str(task_dir), "TRAINPLAT_RUN_ID": "run-1"}
    code = run_task(name, env, ECHO_REGISTRY if registry is None else registry, stderr)
    return code, stderr.getvalue()


def test_runner_success_writes_outputs_and_progress(tmp_path: Path) -> None:
    write_inputs(tmp_path, "test.echo", {"text": "hi"})

    code, _ = run(tmp_path, "test.echo")

    assert code == EXIT_OK
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs == {"outputs": {"echo": "hi", "run": "run-1"}, "metrics": {"length": 2}}
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress == {"fraction": 0.5, "message": "halfway"}
    assert not list(tmp_path.glob("*.tmp"))


def test_runner_unknown_task_exits_2_naming_it(tmp_path: Path) -> None:
    write_inputs(tmp_path, "nope.task", {})

    code, stderr = run(tmp_path, "nope.task")

    assert code == EXIT_BAD_INPUTS
    assert "unknown task 'nope.task'" in stderr
    assert "test.echo" in stderr


def test_runner_malformed_inputs_exits_2(tmp_path: Path) -> None:
    (tmp_path / "inputs.json").write_text("{not json")

    code, stderr = run(tmp_path, "test.echo")

    assert code == EXIT_BAD_INPUTS
    assert "inputs.json" in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_runner_missing_inputs_file_exits_2(tmp_path: Path) -> None:
    code, stderr = run(tmp_path, "test.echo")

    assert code == EXIT_BAD_INPUTS
    assert "cannot read" in stderr


def test_runner_missing_argument_names_the_field(tmp_path: Path) -> None:
    write_inputs(tmp_path, "test.echo", {})

    code, stderr = run(tmp_path, "test.echo")

    assert code == EXIT_BAD_INPUTS
    assert "text: Field required" in stderr


def test_runner_unexpected_argument_names_the_field(tmp_path: Path) -> None:
    write_inputs(tmp_path, "test.echo", {"text": "x", "colour": "red"})

    code, stderr = run(tmp_path, "test.echo")

    assert code == EXIT_BAD_INPUTS
    assert "colour" in stderr


def test_runner_uses_mismatch_exits_2(tmp_path: Path) -> None:
    write_inputs(tmp_path, "other.task", {"text": "x"})

    code, stderr = run(tmp_path, "test.echo")

    assert code == EXIT_BAD_INPUTS
    assert "other.task" in stderr


def test_runner_without_task_dir_exits_2() -> None:
    stderr = io.StringIO()

    code = run_task("test.echo", {}, ECHO_REGISTRY, stderr)

    assert code == EXIT_BAD_INPUTS
    assert "TRAINPLAT_TASK_DIR" in stderr.getvalue()


def test_runner_task_failure_exits_1_without_outputs(tmp_path: Path) -> None:
    write_inputs(tmp_path, "test.echo", {"text": "x", "fail": True})

    code, _ = run(tmp_path, "test.echo")

    assert code == EXIT_TASK_FAILED
    assert not (tmp_path / "outputs.json").exists()


def test_context_exposes_mounts(tmp_path: Path) -> None:
    env = {"TRAINPLAT_TASK_DIR": str(tmp_path), "TRAINPLAT_MOUNT_MODELS": "/mnt/models"}

    context = TaskContext.from_env(env)

    assert context.mounts == {"MODELS": "/mnt/models"}


@pytest.mark.parametrize("program", list(REGISTRY.values()), ids=list(REGISTRY))
def test_registry_arguments_match_function_signature(program: TaskProgram) -> None:
    parameters = dict(inspect.signature(program.function).parameters)
    parameters.pop("context")
    fields = program.arguments.model_fields

    assert set(parameters) == set(fields)
    for name, parameter in parameters.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        if fields[name].is_required():
            assert parameter.default is inspect.Parameter.empty, name
        else:
            assert parameter.default == fields[name].default, name


def test_runner_subprocess_extract_writes_outputs(
    tmp_path: Path, make_source: SourceFactory
) -> None:
    source = make_source([snapshot("a", 10, {"x": 1.0}), snapshot("b", 20, {"x": 2.0})])
    task_dir = tmp_path / "extract"
    task_dir.mkdir()
    arguments = {
        "source": str(source),
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-02T00:00:00Z",
    }
    write_inputs(task_dir, "doris.extract", arguments)

    completed = subprocess.run(
        [sys.executable, "-m", "trainplat.tasks", "doris.extract"],
        env={"TRAINPLAT_TASK_DIR": str(task_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    outputs = json.loads((task_dir / "outputs.json").read_text())
    assert outputs["outputs"]["rows"] == 2
    assert outputs["outputs"]["entities"] == 2
    assert Path(outputs["outputs"]["snapshots"]).is_file()
    assert json.loads((task_dir / "progress.json").read_text())["fraction"] == 1.0


def test_runner_subprocess_bad_window_exits_2(tmp_path: Path, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 10, {"x": 1.0})])
    arguments = {
        "source": str(source),
        "start": "2026-01-02T00:00:00Z",
        "end": "2026-01-01T00:00:00Z",
    }
    write_inputs(tmp_path, "doris.extract", arguments)

    completed = subprocess.run(
        [sys.executable, "-m", "trainplat.tasks", "doris.extract"],
        env={"TRAINPLAT_TASK_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 2
    assert "end:" in completed.stderr
    assert "Traceback" not in completed.stderr
