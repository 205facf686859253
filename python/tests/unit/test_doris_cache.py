import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.unit.conftest import T0, SourceFactory, new_context, snapshot
from trainplat.doris.cache import ExtractCache
from trainplat.doris.extract import extract

END = T0 + timedelta(days=1)


def test_extract_second_run_hits_cache_and_skips_query(
    tmp_path: Path, make_source: SourceFactory
) -> None:
    source = make_source([snapshot("a", 1, {"x": 1}), snapshot("b", 2, {"x": 2})])
    cache_dir = tmp_path / "cache"

    first = extract(
        new_context(tmp_path, "one"), source=source, start=T0, end=END, cache_dir=cache_dir
    )
    second = extract(
        new_context(tmp_path, "two"), source=source, start=T0, end=END, cache_dir=cache_dir
    )

    assert first.outputs["cache"] == "miss"
    assert second.outputs["cache"] == "hit"
    assert second.metrics["cache_hit"] == 1.0
    assert second.outputs["rows"] == 2
    assert second.outputs["entities"] == 2
    one = pq.read_table(str(first.outputs["snapshots"]))
    assert one.equals(pq.read_table(str(second.outputs["snapshots"])))
    progress = json.loads((tmp_path / "two" / "progress.json").read_text())
    assert "cache hit" in progress["message"]


def test_changed_query_or_source_misses(tmp_path: Path, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1, "y": 2})])
    cache_dir = tmp_path / "cache"
    extract(new_context(tmp_path, "one"), source=source, start=T0, end=END, cache_dir=cache_dir)

    keys = extract(
        new_context(tmp_path, "two"),
        source=source,
        start=T0,
        end=END,
        cache_dir=cache_dir,
        feature_keys=["x"],
    )
    stamp = source.stat().st_mtime_ns + 1_000_000_000
    os.utime(source, ns=(stamp, stamp))  # the source file changed
    touched = extract(
        new_context(tmp_path, "three"), source=source, start=T0, end=END, cache_dir=cache_dir
    )

    assert keys.outputs["cache"] == "miss"
    assert touched.outputs["cache"] == "miss"


def test_open_window_is_cached_with_ttl(tmp_path: Path, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])
    cache_dir = tmp_path / "cache"
    future = datetime.now(UTC) + timedelta(days=1)

    def run(name: str, **options: Any) -> str:
        result = extract(
            new_context(tmp_path, name),
            source=source,
            start=T0,
            end=future,
            cache_dir=cache_dir,
            **options,
        )
        assert result.metrics["cache_hit"] + result.metrics["cache_miss"] <= 1.0
        return str(result.outputs["cache"])

    assert [run("one", cache_open_ttl_s=1), run("two", cache_open_ttl_s=1)] == ["miss", "hit"]
    time.sleep(1.1)
    assert run("three", cache_open_ttl_s=1) == "miss"  # expired
    assert [run("four", cache_open_ttl_s=0), run("five", cache_open_ttl_s=0)] == ["off", "off"]


def test_window_within_settle_period_is_open(tmp_path: Path, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])
    cache_dir = tmp_path / "cache"
    recent = datetime.now(UTC) - timedelta(seconds=30)
    common: dict[str, Any] = {"source": source, "start": T0, "end": recent, "cache_dir": cache_dir}

    extract(new_context(tmp_path, "one"), **common, cache_settle_s=300, cache_open_ttl_s=0)
    settled = extract(new_context(tmp_path, "two"), **common, cache_settle_s=300)
    again = extract(new_context(tmp_path, "three"), **common, cache_settle_s=300)
    closed = extract(new_context(tmp_path, "four"), **common, cache_settle_s=0)

    assert [settled.outputs["cache"], again.outputs["cache"]] == ["miss", "hit"]
    assert closed.outputs["cache"] == "miss"  # a closed window never reads an open entry
    (expiring,) = [e for e in ExtractCache(cache_dir).entries() if _expires(e.path)]
    assert len(ExtractCache(cache_dir).entries()) == 2
    assert expiring.path.exists()


def _expires(entry: Path) -> bool:
    return json.loads((entry / "meta.json").read_text())["expires_at"] is not None


def test_hit_restores_manifest_and_rejects(tmp_path: Path, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1}), snapshot("b", 2, {"x": "text"})])
    cache_dir = tmp_path / "cache"
    args: dict[str, Any] = {"source": source, "start": T0, "end": END, "cache_dir": cache_dir}
    schema = ["x:numeric"]

    first = extract(new_context(tmp_path, "one"), **args, feature_schema=schema)
    second = extract(new_context(tmp_path, "two"), **args, feature_schema=schema)

    assert second.outputs["cache"] == "hit"
    assert {k: v for k, v in second.outputs.items() if k not in _PATHS} == {
        k: v for k, v in first.outputs.items() if k not in _PATHS
    }
    assert second.metrics["rejected_type_conflict"] == 1.0
    for name in ("manifest.json", "rejects.jsonl"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


_PATHS = ("snapshots", "manifest", "rejects", "cache")


def test_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache", max_bytes=2500)
    files = []
    for index in range(3):
        data = tmp_path / f"data-{index}"
        data.write_bytes(b"x" * 1000)
        files.append(data)
    out = tmp_path / "out"
    out.mkdir()
    cache.put("a" * 64, {"f": files[0]}, {"rows": 1})
    cache.put("b" * 64, {"f": files[1]}, {"rows": 2})
    old = 1_000_000_000
    os.utime(cache.root / "aa" / ("a" * 64) / "meta.json", ns=(old, old))
    os.utime(cache.root / "bb" / ("b" * 64) / "meta.json", ns=(old * 2, old * 2))
    assert cache.get("a" * 64, out) == {"rows": 1}  # a is now the newest

    cache.put("c" * 64, {"f": files[2]}, {"rows": 3})

    assert cache.get("b" * 64, out) is None
    assert cache.get("a" * 64, out) == {"rows": 1}
    assert cache.size() <= 2500
    assert not cache.put("d" * 64, {"f": _big(tmp_path)}, {"rows": 4})  # larger than the cache


def test_cache_url_must_be_redis_without_password() -> None:
    from trainplat.doris.cache import check_cache_url

    with pytest.raises(ValueError, match="not redis"):
        check_cache_url("http://x/0", allow_password=False)
    with pytest.raises(ValueError, match="must not contain a password"):
        check_cache_url("redis://:pw@x:6379/0", allow_password=False)
    assert check_cache_url("redis://:pw@x:6379/0", allow_password=True)


def _big(tmp_path: Path) -> Path:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 3000)
    return path
