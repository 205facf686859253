"""Atomic JSON files: the control plane polls progress.json and reads outputs.json while the
task may still be writing, so a reader must only ever see a complete document."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, document: Any) -> None:
    """Write `document` as JSON to `path` via a temporary file in the same directory and an
    atomic rename (same filesystem, so os.replace cannot leave a half-written file)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # allow_nan=False: NaN/Infinity are not JSON and the Swift decoder rejects them.
            json.dump(document, handle, indent=2, sort_keys=True, allow_nan=False)
            handle.write("\n")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
