"""A task program: a typed function plus the pydantic model that validates its arguments."""

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from trainplat.tasks.context import TaskContext
from trainplat.tasks.result import TaskResult

# Called as function(context, **validated_arguments); the keyword parameters after the
# context mirror the argument model's fields (a unit test keeps the two in step).
TaskFunction = Callable[..., TaskResult]


@dataclass(frozen=True)
class TaskProgram:
    name: str
    arguments: type[BaseModel]
    function: TaskFunction

    def __call__(self, context: TaskContext, arguments: BaseModel) -> TaskResult:
        # dict(model) keeps the validated Python values (datetimes, paths), not their JSON form.
        return self.function(context, **dict(arguments))
