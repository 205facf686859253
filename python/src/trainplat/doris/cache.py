"""A cache of extraction results: the files of one extraction (`snapshots.parquet`,
`rejects.jsonl`, `manifest.json`) plus its outputs, keyed by a hash of (source identity,
normalised query, output format).

Two backends with the same interface:

- `DiskCache` (the default): a directory, bounded in bytes, least recently used entries
  evicted. Writers build an entry in a temporary directory and rename it into place, so
  concurrent tasks never see half an entry.
- `RedisCache` (`redis://` / `rediss://` URL): files stored in parts of `PART_BYTES`, the
  entry's meta written last, so a reader that finds the meta finds the parts (or, when Redis
  evicted one, misses). Size is bounded by the server's `maxmemory` with an LRU policy.

Entries of closed windows never expire. Entries of open windows (end in the future or
within the settle period) carry a TTL and are stored under a different key (the key document
says `open`), so a settled window never reads an entry written while it still filled."""

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024**3
META_FILE = "meta.json"
_TMP_PREFIX = ".tmp-"
CACHE_URL_ENV = "TRAINPLAT_CACHE_URL"
REDIS_PREFIX = "trainplat:doris-extract:"
PART_BYTES = 4 * 1024**2


def cache_key(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CacheError(Exception):
    """The cache backend failed (e.g. Redis unreachable). Extraction goes on without it."""


class ExtractCacheBackend(ABC):
    name: str
    max_bytes: int

    @abstractmethod
    def get(self, key: str, destination: Path) -> dict[str, Any] | None:
        """On a hit, place the entry's files in the directory `destination` and return the
        stored outputs; None on a miss (absent, expired or partly evicted)."""

    def put(
        self,
        key: str,
        files: Mapping[str, Path],
        meta: dict[str, Any],
        ttl_s: float | None = None,
    ) -> bool:
        """Store the files (name -> path) and outputs; `ttl_s` None never expires. False when
        the entry is larger than the whole cache (never stored)."""
        size = sum(path.stat().st_size for path in files.values())
        if size > self.max_bytes:
            log.info("not caching %s: %d bytes exceed the cache's %d", key, size, self.max_bytes)
            return False
        return self._store(key, files, meta, ttl_s)

    @abstractmethod
    def _store(
        self, key: str, files: Mapping[str, Path], meta: dict[str, Any], ttl_s: float | None
    ) -> bool:
        """Store an entry that fits the cache (`put` checked its size)."""


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    last_used_ns: int


class DiskCache(ExtractCacheBackend):
    name = "disk"

    def __init__(
        self,
        root: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Any = time.time,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("cache size limit must be positive")
        self.root = root
        self.max_bytes = max_bytes
        self.clock = clock

    def _entry_dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str, destination: Path) -> dict[str, Any] | None:
        entry = self._entry_dir(key)
        try:
            stored = json.loads((entry / META_FILE).read_text())
            expires = stored.get("expires_at")
            if expires is not None and self.clock() >= float(expires):
                shutil.rmtree(entry, ignore_errors=True)
                return None
            for name in stored["files"]:
                target = destination / name
                target.unlink(missing_ok=True)
                _link_or_copy(entry / name, target)
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return None  # absent, or evicted while we read it
        with contextlib.suppress(FileNotFoundError):
            os.utime(entry / META_FILE)  # last use, for LRU
        return dict(stored["meta"])

    def _store(
        self, key: str, files: Mapping[str, Path], meta: dict[str, Any], ttl_s: float | None
    ) -> bool:
        final = self._entry_dir(key)
        if final.exists():
            if ttl_s is None:
                return True
            shutil.rmtree(final, ignore_errors=True)  # refresh an open window's entry
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        stored = {
            "meta": meta,
            "files": sorted(files),
            "expires_at": None if ttl_s is None else self.clock() + ttl_s,
        }
        try:
            for name, path in files.items():
                _link_or_copy(path, staging / name)
            (staging / META_FILE).write_text(json.dumps(stored, sort_keys=True))
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


# The name the colleague's code and tests used for the disk backend.
ExtractCache = DiskCache


class RedisCache(ExtractCacheBackend):
    name = "redis"

    def __init__(
        self,
        url: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        prefix: str = REDIS_PREFIX,
        timeout_s: float = 10.0,
    ) -> None:
        import redis  # only needed for this backend

        self.url = url
        self.max_bytes = max_bytes
        self.prefix = prefix
        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def _meta_key(self, key: str) -> str:
        return f"{self.prefix}{key}:meta"

    def _part_key(self, key: str, name: str, index: int) -> str:
        return f"{self.prefix}{key}:file:{name}:{index}"

    def get(self, key: str, destination: Path) -> dict[str, Any] | None:
        try:
            raw = self.client.get(self._meta_key(key))
            if raw is None:
                return None
            stored = json.loads(raw)
            placed = []
            for name, parts in stored["files"].items():
                keys = [self._part_key(key, name, index) for index in range(int(parts))]
                blobs = self.client.mget(keys) if keys else []
                if any(blob is None for blob in blobs):
                    return None  # a part was evicted: the entry is incomplete
                staging = destination / f".{name}.{uuid.uuid4().hex}.tmp"
                with staging.open("wb") as handle:
                    for blob in blobs:
                        handle.write(blob if isinstance(blob, bytes) else str(blob).encode())
                placed.append((staging, destination / name))
        except self._errors as error:
            raise CacheError(f"redis cache at {_redacted(self.url)}: {error}") from error
        for staging, target in placed:
            os.replace(staging, target)
        return dict(stored["meta"])

    def _store(
        self, key: str, files: Mapping[str, Path], meta: dict[str, Any], ttl_s: float | None
    ) -> bool:
        expiry = None if ttl_s is None else max(1, round(ttl_s * 1000))
        parts: dict[str, int] = {}
        try:
            pipe = self.client.pipeline(transaction=False)
            for name, path in files.items():
                count = 0
                with path.open("rb") as handle:
                    while block := handle.read(PART_BYTES):
                        pipe.set(self._part_key(key, name, count), block, px=expiry)
                        count += 1
                        if len(pipe) >= 8:
                            pipe.execute()
                parts[name] = count
            pipe.execute()
            document = json.dumps({"meta": meta, "files": parts}, sort_keys=True)
            self.client.set(self._meta_key(key), document, px=expiry)
        except self._errors as error:
            raise CacheError(f"redis cache at {_redacted(self.url)}: {error}") from error
        return True


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_cache_url(url: str, *, allow_password: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"cache_url scheme {parts.scheme!r} is not redis or rediss")
    if not parts.hostname:
        raise ValueError("cache_url needs a host")
    if parts.password is not None and not allow_password:
        raise ValueError(f"cache_url must not contain a password; set {CACHE_URL_ENV} instead")
    return url


def open_cache(
    cache_url: str | None, cache_dir: Path | None, max_bytes: int
) -> ExtractCacheBackend | None:
    """The task's `cache_url`, else `$TRAINPLAT_CACHE_URL`, picks Redis; else the local disk
    directory `cache_dir` (None: no cache)."""
    if cache_url:
        return RedisCache(check_cache_url(cache_url, allow_password=False), max_bytes)
    if env_url := os.environ.get(CACHE_URL_ENV):
        return RedisCache(check_cache_url(env_url, allow_password=True), max_bytes)
    if cache_dir is not None:
        return DiskCache(cache_dir, max_bytes)
    return None


def _link_or_copy(source: Path, destination: Path) -> None:
    # A hard link costs nothing and survives eviction of the other name; the files are
    # written once and never modified. Across filesystems, copy.
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)
