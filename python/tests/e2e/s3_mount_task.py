"""The `command:` task of tests/e2e/test_s3_mounts.py, run by the server's `python`: writes
`<run id>.txt` to its SETS mount and reports every object it then sees there."""

import json
import os

from trainplat.storage.mounts import open_mount
from trainplat.tasks.context import TaskContext


def main() -> None:
    context = TaskContext.from_env(os.environ)
    mount = open_mount("SETS", context.mounts)
    mount.filesystem.pipe(mount.path(f"{context.run_id}.txt"), str(context.run_id).encode())
    seen = sorted(path.removeprefix(f"{mount.root}/") for path in mount.filesystem.find(mount.root))
    outputs = {"location": mount.location, "seen": seen}
    (context.task_dir / "outputs.json").write_text(json.dumps({"outputs": outputs}))


if __name__ == "__main__":
    main()
