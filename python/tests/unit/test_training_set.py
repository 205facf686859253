from pathlib import Path

import numpy as np
import pytest

from tests.unit.conftest import T0, SourceFactory, new_context, snapshot
from trainplat.datasets.training_set import build_training_set
from trainplat.datasets.training_set_file import read_training_set
from trainplat.datasets.version import content_hash
from trainplat.datasets.windows import history_windows
from trainplat.doris.extract import extract
from trainplat.doris.schema import SnapshotRow

END = T0.replace(day=2)


def snapshots_file(tmp_path: Path, make_source: SourceFactory, rows: list[SnapshotRow]) -> Path:
    context = new_context(tmp_path, f"extract-{len(list(tmp_path.glob('extract-*')))}")
    result = extract(context, source=make_source(rows), start=T0, end=END)
    return Path(str(result.outputs["snapshots"]))


def test_training_set_never_uses_features_after_the_label_time(
    tmp_path: Path, make_source: SourceFactory
) -> None:
    rows = [
        snapshot("a", 100, {"x": 1.0, "c": "old"}),
        snapshot("a", 200, {"x": 2.0, "c": "now", "label": 1}, is_tag=True),
        snapshot("a", 200, {"x": 3.0}),  # same instant as the label: "at t", so used
        snapshot("a", 201, {"x": 999.0, "c": "future"}),  # one second later: never used
        snapshot("b", 150, {"x": 5.0, "label": 0}, is_tag=True),
    ]

    result = build_training_set(
        new_context(tmp_path, "set"),
        snapshots=snapshots_file(tmp_path, make_source, rows),
        history=4,
    )

    data = read_training_set(Path(str(result.outputs["training_set"])))
    a = int(np.flatnonzero(data.label == 1)[0])
    assert data.numeric["x"][a].tolist()[-3:] == [1.0, 2.0, 3.0]
    assert np.isnan(data.numeric["x"][a][0])  # padding in front
    assert data.valid[a].tolist() == [False, True, True, True]
    assert data.categorical["c"][a].tolist() == [None, "old", "now", None]
    assert 999.0 not in data.numeric["x"]
    assert "future" not in data.categorical["c"]
    assert data.age_seconds[a].tolist()[1:] == [100.0, 0.0, 0.0]
    assert "label" not in data.schema
    assert data.rows == result.outputs["rows"] == 2


def test_training_set_version_is_stable_and_content_addressed(
    tmp_path: Path, make_source: SourceFactory
) -> None:
    rows = [
        snapshot(f"e{i % 3}", i * 10, {"x": i, "label": i % 2}, is_tag=i % 4 == 0)
        for i in range(40)
    ]
    snapshots = snapshots_file(tmp_path, make_source, rows)

    first = build_training_set(new_context(tmp_path, "one"), snapshots=snapshots, history=4)
    second = build_training_set(new_context(tmp_path, "two"), snapshots=snapshots, history=4)
    longer = build_training_set(new_context(tmp_path, "three"), snapshots=snapshots, history=5)

    assert first.outputs["version"] == second.outputs["version"]
    assert first.outputs["version"] != longer.outputs["version"]
    version = first.training_set_version
    assert version is not None
    path = Path(str(first.outputs["training_set"]))
    assert version.content_hash == content_hash(path, version.config)
    assert version.uri == path.as_uri()
    assert version.row_count == 10
    assert version.schema == {"x": "numeric"}
    assert version.time_start == "2026-01-01T00:00:00Z"
    assert version.time_end == "2026-01-01T00:06:00Z"


def test_training_set_requires_labels(tmp_path: Path, make_source: SourceFactory) -> None:
    snapshots = snapshots_file(tmp_path, make_source, [snapshot("a", 1, {"x": 1})])

    with pytest.raises(ValueError, match="no numeric label"):
        build_training_set(new_context(tmp_path, "set"), snapshots=snapshots)


def test_history_windows_respect_entity_boundaries() -> None:
    entity = np.array([0, 0, 0, 1, 1], dtype=np.int64)
    time_us = np.array([1, 2, 3, 1, 2], dtype=np.int64)
    is_label = np.array([False, False, True, True, False])

    windows = history_windows(entity, time_us, is_label, history=3)

    assert windows.label_rows.tolist() == [2, 3]
    assert windows.rows.tolist() == [[0, 1, 2], [0, 0, 3]]
    assert windows.valid.tolist() == [[True, True, True], [False, False, True]]
