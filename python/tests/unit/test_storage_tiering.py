"""`storage.move_tier`: data moves whole or not at all, and a retry finds what moved."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from trainplat.storage.tiering import MOVE_TIER_PROGRAM, MoveTierArgs, TierMoveRequest, move_tier
from trainplat.tasks.context import TaskContext


def _request(source: Path, directory: Path, version: str = "v1") -> TierMoveRequest:
    return TierMoveRequest(id=version, uri=source.as_uri(), to="cold", directory=directory)


def test_move_file_and_directory_lands_at_target_and_reports_tier_moves(
    context: TaskContext, tmp_path: Path
) -> None:
    # setup: a single-file version and a directory version
    single = tmp_path / "hot" / "a.parquet"
    single.parent.mkdir()
    single.write_bytes(b"x" * 5000)
    tree = tmp_path / "hot" / "set-b"
    (tree / "part").mkdir(parents=True)
    (tree / "part" / "0.parquet").write_bytes(b"y" * 300)
    cold = tmp_path / "cold"
    # act
    result = move_tier(
        context, moves=[_request(single, cold / "v1", "v1"), _request(tree, cold / "v2", "v2")]
    )
    # check
    assert not single.exists()
    assert not tree.exists()
    assert (cold / "v1" / "a.parquet").read_bytes() == b"x" * 5000
    assert (cold / "v2" / "set-b" / "part" / "0.parquet").read_bytes() == b"y" * 300
    document = result.to_json()
    assert document["tier_moves"] == [
        {"id": "v1", "uri": (cold / "v1" / "a.parquet").as_uri(), "tier": "cold"},
        {"id": "v2", "uri": (cold / "v2" / "set-b").as_uri(), "tier": "cold"},
    ]
    assert result.outputs == {"moved": 2, "bytes": 5300}
    assert not list(cold.rglob(".*.moving"))
    assert json.loads(json.dumps(document)) == document


def test_retry_after_the_move_accepts_the_data_at_the_target(
    context: TaskContext, tmp_path: Path
) -> None:
    # setup: an earlier attempt moved the file, then died before reporting
    target = tmp_path / "cold" / "v1" / "a.parquet"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"z" * 10)
    # act
    result = move_tier(context, moves=[_request(tmp_path / "hot" / "a.parquet", target.parent)])
    # check
    assert result.tier_moves[0].uri == target.as_uri()


def test_missing_data_fails_naming_the_version(context: TaskContext, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"version v9: its data .* is missing"):
        move_tier(
            context, moves=[_request(tmp_path / "gone.parquet", tmp_path / "cold", version="v9")]
        )


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        ({"id": "v", "uri": "file:///a", "to": "frozen", "directory": "/t"}, "to"),
        ({"id": "v", "uri": "file:///a", "to": "cold", "directory": "relative/t"}, "absolute"),
        ({"id": "v", "uri": "file:///a", "to": "cold", "directory": "/t/../etc"}, "'..'"),
    ],
)
def test_arguments_bad_move_is_refused(move: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        MoveTierArgs.model_validate({"moves": [move]})


def test_non_file_uri_is_refused_naming_the_version(context: TaskContext, tmp_path: Path) -> None:
    request = TierMoveRequest(id="v3", uri="s3://bucket/x", to="cold", directory=tmp_path)
    with pytest.raises(ValueError, match="version v3: only file:// data can move"):
        MOVE_TIER_PROGRAM(context, MoveTierArgs(moves=[request]))
