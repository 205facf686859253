"""Task program `storage.move_tier`: moves training-set versions' data to another storage
tier's directory, as the control plane's lifecycle plan asks (docs/storage.md).

Each file is copied to a temporary name beside its target, flushed to disk, compared by
SHA-256 with its source, renamed into place and only then is the source removed; the
control plane re-points the version (`tier_moves`) only when the whole task succeeds. A
retry after a crash finds already-moved data at the target and does not copy it again."""

import hashlib
import os
import shutil
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field, field_validator

from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import TaskResult, TierMove

_CHUNK = 1 << 20


class TierMoveRequest(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    uri: str = Field(min_length=1)
    to: Literal["hot", "warm", "cold"]
    directory: Path

    @field_validator("directory")
    @classmethod
    def _absolute(cls, directory: Path) -> Path:
        if not directory.is_absolute() or ".." in directory.parts:
            raise ValueError(f"directory must be absolute without '..', got {directory}")
        return directory


class MoveTierArgs(BaseModel):
    moves: list[TierMoveRequest] = Field(min_length=1, max_length=10_000)


def _local_path(uri: str, version: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ValueError(f"version {version}: only file:// data can move between tiers, got {uri}")
    return Path(unquote(parsed.path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_digest(path: Path) -> dict[str, str]:
    if path.is_file():
        return {"": _sha256(path)}
    return {
        str(file.relative_to(path)): _sha256(file)
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def _copy_durably(source: Path, temporary: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, temporary)
        files = [file for file in temporary.rglob("*") if file.is_file()]
    else:
        shutil.copy2(source, temporary)
        files = [temporary]
    for file in files:
        with file.open("rb") as handle:
            os.fsync(handle.fileno())


def _move_one(move: TierMoveRequest) -> tuple[Path, int]:
    """Moves one version's data; returns where it is now and how many bytes it holds."""
    source = _local_path(move.uri, move.id)
    target = move.directory / source.name
    if not source.exists():
        if target.exists():  # a retry: an earlier attempt moved it and then died
            return target, sum(
                f.stat().st_size for f in [target, *target.rglob("*")] if f.is_file()
            )
        raise FileNotFoundError(f"version {move.id}: its data {source} is missing")
    if source == target:
        return target, 0
    move.directory.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.moving")
    shutil.rmtree(temporary, ignore_errors=True) if temporary.is_dir() else temporary.unlink(
        missing_ok=True
    )
    _copy_durably(source, temporary)
    expected = _tree_digest(source)
    if _tree_digest(temporary) != expected:
        raise OSError(f"version {move.id}: the copy at {temporary} differs from {source}")
    temporary.rename(target)
    size = sum(file.stat().st_size for file in [target, *target.rglob("*")] if file.is_file())
    shutil.rmtree(source) if source.is_dir() else source.unlink()
    return target, size


def move_tier(context: TaskContext, *, moves: list[TierMoveRequest]) -> TaskResult:
    moved: list[TierMove] = []
    total = 0
    for index, move in enumerate(moves):
        context.report_progress(index / len(moves), f"moving version {move.id} to {move.to}")
        target, size = _move_one(move)
        total += size
        moved.append(TierMove(id=move.id, uri=target.as_uri(), tier=move.to))
    return TaskResult(
        outputs={"moved": len(moved), "bytes": total},
        metrics={"bytes_moved": float(total)},
        tier_moves=moved,
    )


MOVE_TIER_PROGRAM = TaskProgram(
    name="storage.move_tier", arguments=MoveTierArgs, function=move_tier
)
