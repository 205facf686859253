"""Content addressing: a version id is a hash of the data and of how it was made."""

import hashlib
import json
from pathlib import Path
from typing import Any

_BLOCK = 1 << 20


def canonical_json(value: Any) -> bytes:
    """The one serialisation hashed, so key order or spacing never changes a version id."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _update_from_file(digest: "hashlib._Hash", path: Path) -> None:
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    _update_from_file(digest, path)
    return digest.hexdigest()


def content_hash(data_file: Path, config: Any) -> str:
    """sha256 over the data file's bytes, a NUL separator, then the canonical JSON config."""
    digest = hashlib.sha256()
    _update_from_file(digest, data_file)
    digest.update(b"\0")
    digest.update(canonical_json(config))
    return digest.hexdigest()
