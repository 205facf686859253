"""Shared builders: small SQLite sources and task contexts in pytest's tmp_path."""

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trainplat.doris.schema import SnapshotRow, encode_time
from trainplat.doris.source import SqliteSource
from trainplat.tasks.context import TaskContext

T0 = datetime(2026, 1, 1, tzinfo=UTC)

SourceFactory = Callable[[Sequence[SnapshotRow]], Path]


def snapshot(
    uuid: str,
    seconds: float,
    features: dict[str, Any],
    *,
    is_tag: bool = False,
    node_id: int | str = 1,
) -> SnapshotRow:
    """A row `seconds` after T0."""
    moment = T0 + timedelta(seconds=seconds)
    return SnapshotRow(
        uuid=uuid,
        node_id=str(node_id),
        time=encode_time(moment),
        features=json.dumps(features),
        is_tag=is_tag,
        created_at=encode_time(moment),
    )


@pytest.fixture
def make_source(tmp_path: Path) -> SourceFactory:
    def build(rows: Sequence[SnapshotRow]) -> Path:
        path = tmp_path / f"source-{len(list(tmp_path.glob('source-*')))}.sqlite"
        with SqliteSource.create(path) as source:
            source.write(rows)
        return path

    return build


@pytest.fixture
def context(tmp_path: Path) -> TaskContext:
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    return TaskContext(task_dir=task_dir)


def new_context(root: Path, name: str) -> TaskContext:
    task_dir = root / name
    task_dir.mkdir()
    return TaskContext(task_dir=task_dir)
