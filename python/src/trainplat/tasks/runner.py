"""Adapts a task program to the process contract: env + inputs.json in, outputs.json and an
exit code out (0 success, 2 bad inputs, 1 failure inside the task)."""

import dataclasses
import logging
import sys
from collections.abc import Mapping
from typing import TextIO

from pydantic import ValidationError

from trainplat.tasks.atomic import write_json_atomic
from trainplat.tasks.context import ContextError, TaskContext
from trainplat.tasks.inputs import InputsError, describe_validation_error, read_inputs
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import OUTPUTS_FILE

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_BAD_INPUTS = 2

log = logging.getLogger(__name__)


def run_task(
    name: str,
    env: Mapping[str, str],
    registry: Mapping[str, TaskProgram],
    stderr: TextIO = sys.stderr,
) -> int:
    program = registry.get(name)
    if program is None:
        known = ", ".join(sorted(registry))
        return _bad_inputs(stderr, f"unknown task {name!r} (known: {known})")
    try:
        context = TaskContext.from_env(env)
        inputs = read_inputs(context.task_dir)
    except (ContextError, InputsError) as error:
        return _bad_inputs(stderr, str(error))
    if inputs.uses != name:
        # A mismatch means the control plane launched the wrong program for this task.
        return _bad_inputs(stderr, f"inputs.json uses {inputs.uses!r} but task {name!r} was run")
    try:
        arguments = program.arguments.model_validate(inputs.arguments)
    except ValidationError as error:
        detail = describe_validation_error(error)
        return _bad_inputs(stderr, f"invalid arguments for task {name!r}: {detail}")

    context = dataclasses.replace(context, logical_time=inputs.logical_time)
    log.info("running task %s (%s) for run %s", inputs.task, name, inputs.run.id)
    try:
        result = program(context, arguments)
        write_json_atomic(context.task_dir / OUTPUTS_FILE, result.to_json())
    except Exception:
        log.exception("task %s failed", name)
        return EXIT_TASK_FAILED
    return EXIT_OK


def _bad_inputs(stderr: TextIO, message: str) -> int:
    print(f"trainplat: {message}", file=stderr)
    return EXIT_BAD_INPUTS
