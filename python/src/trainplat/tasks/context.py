"""The environment a task program runs in, read from the `TRAINPLAT_*` variables."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from trainplat.tasks.atomic import write_json_atomic

PROGRESS_FILE = "progress.json"
MOUNT_PREFIX = "TRAINPLAT_MOUNT_"

log = logging.getLogger(__name__)


class ContextError(Exception):
    """The process environment does not describe a usable task; maps to exit code 2."""


@dataclass(frozen=True)
class TaskContext:
    task_dir: Path
    run_id: str | None = None
    task_id: str | None = None
    api_url: str | None = None
    token: str | None = field(default=None, repr=False)
    # Mount name (as in TRAINPLAT_MOUNT_<NAME>, upper case) -> path or object-store URL.
    mounts: Mapping[str, str] = field(default_factory=dict)
    logical_time: datetime | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "TaskContext":
        raw_dir = env.get("TRAINPLAT_TASK_DIR")
        if not raw_dir:
            raise ContextError("TRAINPLAT_TASK_DIR is not set")
        task_dir = Path(raw_dir).resolve()
        if not task_dir.is_dir():
            raise ContextError(f"TRAINPLAT_TASK_DIR {task_dir} is not a directory")
        mounts = {
            name.removeprefix(MOUNT_PREFIX): value
            for name, value in env.items()
            if name.startswith(MOUNT_PREFIX) and name != MOUNT_PREFIX
        }
        return cls(
            task_dir=task_dir,
            run_id=env.get("TRAINPLAT_RUN_ID"),
            task_id=env.get("TRAINPLAT_TASK_ID"),
            api_url=env.get("TRAINPLAT_API_URL"),
            token=env.get("TRAINPLAT_TOKEN"),
            mounts=mounts,
        )

    def report_progress(self, fraction: float, message: str) -> None:
        """Publish `{"fraction", "message"}` for the control plane's poller."""
        clamped = min(1.0, max(0.0, fraction))
        write_json_atomic(
            self.task_dir / PROGRESS_FILE, {"fraction": round(clamped, 4), "message": message}
        )
        log.info("progress %.0f%%: %s", clamped * 100, message)
