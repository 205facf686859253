"""Task `feast.materialize` into the embedded SQLite online store, and online reads through
the Feast SDK (function and CLI)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.conftest import new_context
from tests.unit.feast_online import (
    FIRST_END,
    NOW,
    TTL_SECONDS,
    apply_rows,
    at,
    latest_before,
    materialise_twice,
    online_values,
    random_rows,
)
from tests.unit.feast_snapshots import Row
from trainplat.feast.materialize import MATERIALIZE_PROGRAM, materialize
from trainplat.feast.online import main, open_store, redis_online_config
from trainplat.feast.repo import DEFAULT_VIEW
from trainplat.tasks.result import JsonValue


def interval(outputs: dict[str, JsonValue]) -> dict[str, Any]:
    materialized = outputs["materialized"]
    assert isinstance(materialized, dict)
    return dict(materialized[DEFAULT_VIEW])


def test_materialize_writes_the_latest_offline_value_per_entity(tmp_path: Path) -> None:
    # setup: rows up to now, materialised until FIRST_END
    repo = tmp_path / "repo"
    rows = random_rows(1, entities=30, rows=300, since=NOW - timedelta(days=1), until=NOW)
    apply_rows(repo, rows, "first")
    # act
    before = datetime.now(UTC)
    result = materialize(
        new_context(tmp_path, "task"), registry=repo / "registry.db", end=FIRST_END
    )
    after = datetime.now(UTC)
    # check
    expected = latest_before(rows, FIRST_END)
    assert online_values(open_store(repo), [*sorted(expected), "unknown"]) == {
        **expected,
        "unknown": {"x": None, "c": None},
    }
    assert result.outputs["rows"] == len(expected)
    first = interval(result.outputs)
    assert first["end"] == FIRST_END.isoformat()
    # never materialised: Feast starts at now minus the TTL
    ttl = timedelta(seconds=TTL_SECONDS)
    start = datetime.fromisoformat(first["start"])
    assert before - ttl - timedelta(seconds=1) <= start <= after - ttl + timedelta(seconds=1)


def test_second_materialisation_moves_only_rows_after_the_first(tmp_path: Path) -> None:
    # act
    runs = materialise_twice(tmp_path)
    # check
    assert online_values(open_store(tmp_path / "repo"), sorted(runs.expected)) == runs.expected
    moved = interval(runs.second.outputs)
    assert moved == {
        "start": FIRST_END.isoformat(),
        "end": NOW.isoformat(),
        "rows": runs.new_entities,
    }
    assert runs.second.outputs["rows"] == runs.new_entities < len(runs.expected)


def test_online_cli_prints_the_values_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # setup
    repo = tmp_path / "repo"
    rows = [Row("a", at(NOW - timedelta(hours=2)), {"x": 2.5, "c": "p"})]
    apply_rows(repo, rows, "one")
    materialize(new_context(tmp_path, "task"), registry=repo / "registry.db", end=NOW)
    capsys.readouterr()  # Feast's materialisation log
    # act
    code = main(["--repo", str(repo), "--feature", f"{DEFAULT_VIEW}:x", "uuid=a", "uuid=b"])
    # check
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"uuid": ["a", "b"], "x": [2.5, None]}


def test_online_cli_refuses_a_folder_without_a_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--repo", str(tmp_path), "uuid=a"])

    assert code == 2
    assert "no Feast feature repo" in capsys.readouterr().err


def test_redis_url_becomes_feasts_connection_string() -> None:
    assert redis_online_config("rediss://cache.internal:6380/3") == {
        "type": "redis",
        "connection_string": "cache.internal:6380,db=3,ssl=true",
    }
    assert redis_online_config("redis://localhost")["connection_string"] == "localhost:6379,db=0"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://:secret@host:6379/0", "credentials"),
        ("http://host/0", "scheme"),
        ("redis:///0", "host"),
        ("redis://host/x", "not a number"),
    ],
)
def test_materialize_arguments_refuse_bad_online_store_urls(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        MATERIALIZE_PROGRAM.arguments.model_validate({"online_store": url})
