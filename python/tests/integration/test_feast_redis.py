"""Task `feast.materialize` into the real Redis of scripts/services.sh, read back through the
Feast SDK."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.feast_online import FIRST_END, NOW, materialise_twice, online_values
from trainplat.feast.online import open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def project() -> str:
    """A project of its own: Feast's Redis keys are per project."""
    return f"it_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def repo(tmp_path: Path, redis_url: str) -> Iterator[Path]:
    yield tmp_path / "repo"
    # Deletes the project's keys from Redis (and the throwaway registry).
    open_store(tmp_path / "repo", redis_url).teardown()  # type: ignore[no-untyped-call]


def test_materialize_into_redis_moves_only_new_rows(
    tmp_path: Path, repo: Path, redis_url: str, project: str
) -> None:
    # act
    runs = materialise_twice(tmp_path, project, online_store=redis_url)
    # check
    uuids = sorted(runs.expected)
    assert online_values(open_store(repo, redis_url), uuids) == runs.expected
    materialized = runs.second.outputs["materialized"]
    assert isinstance(materialized, dict)
    (moved,) = materialized.values()
    assert moved == {
        "start": FIRST_END.isoformat(),
        "end": NOW.isoformat(),
        "rows": runs.new_entities,
    }
    assert runs.second.outputs["online_store"] == redis_url
    # the repo's embedded SQLite store was never written
    embedded = online_values(open_store(repo), uuids)
    assert all(value == {"x": None, "c": None} for value in embedded.values())
