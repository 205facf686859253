import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

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


def test_open_window_is_never_cached(tmp_path: Path, make_source: SourceFactory) -> None:
    source = make_source([snapshot("a", 1, {"x": 1})])
    cache_dir = tmp_path / "cache"
    future = datetime.now(UTC) + timedelta(days=1)

    for name in ("one", "two"):
        result = extract(
            new_context(tmp_path, name), source=source, start=T0, end=future, cache_dir=cache_dir
        )
        assert result.outputs["cache"] == "miss"
    assert ExtractCache(cache_dir).entries() == []


def test_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = ExtractCache(tmp_path / "cache", max_bytes=2500)
    files = []
    for index in range(3):
        data = tmp_path / f"data-{index}"
        data.write_bytes(b"x" * 1000)
        files.append(data)
    cache.put("a" * 64, files[0], {"rows": 1})
    cache.put("b" * 64, files[1], {"rows": 2})
    old = 1_000_000_000
    os.utime(cache.root / "aa" / ("a" * 64) / "meta.json", ns=(old, old))
    os.utime(cache.root / "bb" / ("b" * 64) / "meta.json", ns=(old * 2, old * 2))
    assert cache.get("a" * 64, tmp_path / "out") == {"rows": 1}  # a is now the newest

    cache.put("c" * 64, files[2], {"rows": 3})

    assert cache.get("b" * 64, tmp_path / "out-b") is None
    assert cache.get("a" * 64, tmp_path / "out-a") == {"rows": 1}
    assert cache.size() <= 2500
    assert not cache.put("d" * 64, _big(tmp_path), {"rows": 4})  # larger than the cache


def _big(tmp_path: Path) -> Path:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 3000)
    return path
