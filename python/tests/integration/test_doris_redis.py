"""The extraction cache's Redis backend against the real Redis of scripts/services.sh."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import redis

from tests.unit.conftest import T0, new_context, snapshot
from trainplat.doris.cache import CACHE_URL_ENV, RedisCache
from trainplat.doris.extract import extract
from trainplat.doris.source import SqliteSource

pytestmark = pytest.mark.integration

END = T0 + timedelta(days=1)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def _source(tmp_path: Path, rows: int = 50) -> Path:
    path = tmp_path / f"source-{uuid.uuid4().hex[:8]}.sqlite"
    with SqliteSource.create(path) as source:
        source.write(
            [snapshot(f"e{i % 7}", i * 60, {"x": i, "c": f"v{i % 3}"}) for i in range(rows)]
        )
    return path


def test_env_url_selects_redis_and_second_run_hits(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_URL_ENV, redis_url)
    source = _source(tmp_path)

    first = extract(new_context(tmp_path, "one"), source=source, start=T0, end=END)
    second = extract(new_context(tmp_path, "two"), source=source, start=T0, end=END)

    assert (first.outputs["cache"], second.outputs["cache"]) == ("miss", "hit")
    assert second.outputs["cache_backend"] == "redis"
    assert (first.metrics["cache_miss"], second.metrics["cache_hit"]) == (1.0, 1.0)
    one = pq.read_table(str(first.outputs["snapshots"]))
    assert one.equals(pq.read_table(str(second.outputs["snapshots"])))
    for name in ("manifest.json", "rejects.jsonl"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_cache_url_argument_and_open_window_ttl(
    tmp_path: Path, redis_url: str, client: redis.Redis
) -> None:
    source = _source(tmp_path)
    future = datetime.now(UTC) + timedelta(hours=1)
    args: dict[str, Any] = {"source": source, "start": T0, "end": future, "cache_url": redis_url}

    first = extract(new_context(tmp_path, "one"), **args, cache_open_ttl_s=30)
    second = extract(new_context(tmp_path, "two"), **args, cache_open_ttl_s=30)

    assert (first.outputs["cache"], second.outputs["cache"]) == ("miss", "hit")
    ttls = [client.pttl(key) for key in client.scan_iter("trainplat:doris-extract:*")]
    assert any(0 < ttl <= 30_000 for ttl in ttls)


def test_large_file_in_parts_and_evicted_part_misses(
    tmp_path: Path, redis_url: str, client: redis.Redis
) -> None:
    prefix = f"trainplat-test:{uuid.uuid4().hex}:"
    cache = RedisCache(redis_url, prefix=prefix)
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(9 * 1024 * 1024))  # 3 parts of 4 MiB
    out = tmp_path / "out"
    out.mkdir()

    assert cache.put("k", {"snapshots.parquet": data}, {"rows": 3}, ttl_s=60)
    assert cache.get("k", out) == {"rows": 3}
    assert (out / "snapshots.parquet").read_bytes() == data.read_bytes()
    client.delete(f"{prefix}k:file:snapshots.parquet:1")
    assert cache.get("k", tmp_path) is None
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_unreachable_redis_does_not_fail_the_extraction(tmp_path: Path) -> None:
    source = _source(tmp_path, rows=5)

    result = extract(
        new_context(tmp_path, "one"),
        source=source,
        start=T0,
        end=END,
        cache_url="redis://127.0.0.1:1/0",
    )

    assert result.outputs["rows"] == 5
    assert result.outputs["cache"] == "miss"
    assert result.metrics["cache_errors"] == 2.0
