"""The task contract: how the control plane runs a task program and reads its results."""

from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import ModelVersion, TaskResult, TrainingSetVersion

__all__ = ["ModelVersion", "TaskContext", "TaskProgram", "TaskResult", "TrainingSetVersion"]
