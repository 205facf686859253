"""The `command:` task of the scoped-credential test in tests/e2e/test_s3_mounts.py: writes
`<run id>.txt` to its SETS mount, then tries what its credentials must not allow (reading
and writing the object named by its argument, in another owner's prefix, and writing to its
read-only MODELS mount) and reports each outcome."""

import json
import os
import sys
from collections.abc import Callable

from trainplat.storage.mounts import open_mount
from trainplat.tasks.context import TaskContext


def _outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except PermissionError as error:  # s3fs's translation of AccessDenied
        return f"denied: {error}"
    return "allowed"


def main() -> None:
    context = TaskContext.from_env(os.environ)
    victim = sys.argv[1]
    sets = open_mount("SETS", context.mounts)
    models = open_mount("MODELS", context.mounts)
    fs = sets.filesystem
    sets_object = sets.path(f"{context.run_id}.txt")
    outputs = {
        "own_write": _outcome(lambda: fs.pipe(sets_object, str(context.run_id).encode())),
        "own_read": fs.cat(sets_object).decode(),
        "foreign_read": _outcome(lambda: fs.cat(victim)),
        "foreign_write": _outcome(lambda: fs.pipe(f"{victim}.intruder", b"x")),
        "read_only_write": _outcome(lambda: fs.pipe(models.path("model.pt"), b"x")),
        "access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
        "has_session_token": "AWS_SESSION_TOKEN" in os.environ,
    }
    (context.task_dir / "outputs.json").write_text(json.dumps({"outputs": outputs}))


if __name__ == "__main__":
    main()
