"""A local-disk cache of extraction results (`snapshots.parquet` plus its outputs).

Entries are keyed by a hash of (source identity, normalised query, output format) and are
immutable once written; only windows that have closed (end not in the future) are stored,
since an open window still fills. The cache is bounded in bytes and evicts the least
recently used entries. Writers build an entry in a temporary directory and rename it into
place, so concurrent tasks never see half an entry."""

import contextlib
import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024**3
DATA_FILE = "snapshots.parquet"
META_FILE = "meta.json"
_TMP_PREFIX = ".tmp-"


def cache_key(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    last_used_ns: int


class ExtractCache:
    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("cache size limit must be positive")
        self.root = root
        self.max_bytes = max_bytes

    def _entry_dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str, destination: Path) -> dict[str, Any] | None:
        """On a hit, place the cached file at `destination` and return the stored outputs."""
        entry = self._entry_dir(key)
        try:
            meta = json.loads((entry / META_FILE).read_text())
            destination.unlink(missing_ok=True)
            _link_or_copy(entry / DATA_FILE, destination)
        except (FileNotFoundError, json.JSONDecodeError):
            return None  # absent, or evicted while we read it
        with contextlib.suppress(FileNotFoundError):
            os.utime(entry / META_FILE)  # last use, for LRU
        return dict(meta)

    def put(self, key: str, data: Path, meta: dict[str, Any]) -> bool:
        """Store a result; False when it is larger than the whole cache (never stored)."""
        size = data.stat().st_size
        if size > self.max_bytes:
            log.info("not caching %s: %d bytes exceed the cache's %d", key, size, self.max_bytes)
            return False
        final = self._entry_dir(key)
        if final.exists():
            return True
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            _link_or_copy(data, staging / DATA_FILE)
            (staging / META_FILE).write_text(json.dumps(meta, sort_keys=True))
            staging.rename(final)
        except OSError:
            # Another task stored the same key first (rename onto a non-empty directory).
            shutil.rmtree(staging, ignore_errors=True)
            if not final.exists():
                raise
        self.evict()
        return True

    def entries(self) -> list[Entry]:
        found = []
        for meta in self.root.glob(f"??/*/{META_FILE}"):
            entry = meta.parent
            try:
                size = sum(item.stat().st_size for item in entry.iterdir())
                found.append(Entry(entry, size, meta.stat().st_mtime_ns))
            except FileNotFoundError:
                continue
        return found

    def size(self) -> int:
        return sum(entry.size for entry in self.entries())

    def evict(self) -> list[Path]:
        """Remove least recently used entries until the cache fits its limit."""
        entries = sorted(self.entries(), key=lambda entry: entry.last_used_ns)
        total = sum(entry.size for entry in entries)
        removed = []
        for entry in entries:
            if total <= self.max_bytes:
                break
            shutil.rmtree(entry.path, ignore_errors=True)
            total -= entry.size
            removed.append(entry.path)
        return removed


def _link_or_copy(source: Path, destination: Path) -> None:
    # A hard link costs nothing and survives eviction of the other name; the files are
    # written once and never modified. Across filesystems, copy.
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)
