"""Shared builders: small SQLite sources and task contexts in pytest's tmp_path."""

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trainplat.doris.extract import extract
from trainplat.doris.schema import SnapshotRow, encode_time
from trainplat.doris.source import SqliteSource
from trainplat.synthetic.generator import SyntheticConfig, generate
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


# Two consecutive windows of one synthetic source, as the learning tests train and evaluate.
WINDOW_START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_SPLIT = datetime(2026, 1, 21, tzinfo=UTC)
WINDOW_END = datetime(2026, 1, 31, tzinfo=UTC)


def extract_two_windows(root: Path, config: SyntheticConfig) -> dict[str, Path]:
    """Writes `config`'s snapshots to a SQLite source once and extracts the early and the late
    window: window name -> snapshots file."""
    source = root / "doris.sqlite"
    with SqliteSource.create(source) as sink:
        sink.write(generate(config).snapshot_rows())
    windows = {"early": (WINDOW_START, WINDOW_SPLIT), "late": (WINDOW_SPLIT, WINDOW_END)}
    snapshots: dict[str, Path] = {}
    for name, (start, end) in windows.items():
        extracted = extract(new_context(root, f"x-{name}"), source=source, start=start, end=end)
        snapshots[name] = Path(str(extracted.outputs["snapshots"]))
    return snapshots
