"""Builders for the online-store tests: snapshot rows relative to now (Feast starts a first
materialisation at now minus the TTL), the latest offline value per entity to compare the
online store against, a repo over them, and a two-run materialisation scenario."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from feast import FeatureStore

from tests.unit.conftest import T0, new_context
from tests.unit.feast_snapshots import Row, write_snapshots
from trainplat.feast.materialize import materialize
from trainplat.feast.online import online_features
from trainplat.feast.repo import AppliedRepo, apply_repo, spec_from_snapshots
from trainplat.tasks.result import FeatureKind, TaskResult

KINDS: dict[str, FeatureKind] = {"x": "numeric", "c": "categorical"}
TTL_SECONDS = 2 * 24 * 3600
NOW = datetime.now(UTC).replace(microsecond=0)
FIRST_END = NOW - timedelta(hours=6)


def at(moment: datetime) -> float:
    """Seconds after T0, as feast_snapshots.Row counts them."""
    return (moment - T0).total_seconds()


def random_rows(seed: int, entities: int, rows: int, since: datetime, until: datetime) -> list[Row]:
    """Rows at distinct whole seconds in [since, until), every tenth value missing."""
    rng = np.random.default_rng(seed)
    span = int((until - since).total_seconds())
    seconds = rng.choice(span, size=rows, replace=False)
    return [
        Row(
            f"e{rng.integers(entities)}",
            at(since) + float(second),
            {
                "x": None if rng.random() < 0.1 else float(rng.normal()),
                "c": str(rng.choice(["p", "q", "r"])),
            },
        )
        for second in seconds
    ]


def latest_before(rows: list[Row], end: datetime) -> dict[str, dict[str, Any]]:
    """Per entity, the features of its newest row before `end` (the offline truth)."""
    frame = pd.DataFrame(
        [{"uuid": r.uuid, "seconds": r.seconds, **r.features} for r in rows]
    ).sort_values("seconds")
    frame = frame[frame["seconds"] < at(end)]
    latest = frame.groupby("uuid").tail(1).set_index("uuid")
    return {
        str(uuid): {"x": None if pd.isna(row["x"]) else row["x"], "c": row["c"]}
        for uuid, row in latest.iterrows()
    }


def apply_rows(repo: Path, rows: list[Row], name: str, project: str = "online") -> AppliedRepo:
    """Apply the repo over a snapshot file of `rows`, as feast.training_set does."""
    snapshots = write_snapshots(repo.parent / f"{name}.parquet", rows, KINDS)
    spec = spec_from_snapshots(project, snapshots, ttl_seconds=TTL_SECONDS)
    return apply_repo(spec, repo)


def online_values(store: FeatureStore, uuids: list[str]) -> dict[str, dict[str, Any]]:
    columns = online_features(store, [{"uuid": uuid} for uuid in uuids])
    return {uuid: {"x": columns["x"][i], "c": columns["c"][i]} for i, uuid in enumerate(uuids)}


@dataclass(frozen=True)
class TwoRuns:
    second: TaskResult
    expected: dict[str, dict[str, Any]]  # latest offline values, without the late row
    new_entities: int  # entities with rows after the first run


def materialise_twice(
    root: Path, project: str = "online", online_store: str | None = None
) -> TwoRuns:
    """A first run until FIRST_END; then a new extract re-applied (as feast.training_set
    does) with rows after FIRST_END and one late row dated half a second before it, newer
    than any row of its entity: only a run that started before FIRST_END again moves it."""
    repo = root / "repo"
    old = random_rows(2, entities=20, rows=200, since=NOW - timedelta(days=1), until=FIRST_END)
    apply_rows(repo, old, "first", project)
    registry = repo / "registry.db"
    materialize(
        new_context(root, "first"), registry=registry, end=FIRST_END, online_store=online_store
    )
    new = random_rows(3, entities=20, rows=12, since=FIRST_END, until=NOW - timedelta(hours=1))
    newest = latest_before(new, NOW)
    stale = next(uuid for uuid in sorted(latest_before(old, FIRST_END)) if uuid not in newest)
    late = Row(stale, at(FIRST_END) - 0.5, {"x": 1e6, "c": "late"})
    apply_rows(repo, [*old, *new, late], "second", project)
    second = materialize(
        new_context(root, "second"), registry=registry, end=NOW, online_store=online_store
    )
    expected = {**latest_before(old, FIRST_END), **newest}
    return TwoRuns(second, expected, len(newest))
