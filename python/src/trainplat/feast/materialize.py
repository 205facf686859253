"""Task program `feast.materialize`: the latest feature values of a project's feature repo
into its online store, incrementally, through Feast's `materialize_incremental`.

Each view continues from the end of its previous materialisation (kept in the SQL registry,
across the re-applies of `feast.training_set`); a view never materialised starts at its TTL
before now (52 weeks when its TTL is 0), as Feast decides. Only the newest row per entity
within the interval is written, so a second run moves only the rows that arrived since."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feast import FeatureStore
from feast.infra.offline_stores.offline_utils import get_offline_store_from_config
from feast.utils import _get_column_names
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from trainplat.feast.online import open_store, redis_online_config
from trainplat.feast.repo import ONLINE_FILE
from trainplat.feast.training_set import repo_dir_for
from trainplat.tasks.context import TaskContext
from trainplat.tasks.program import TaskProgram
from trainplat.tasks.result import JsonValue, TaskResult


class MaterializeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = "default"
    registry: Path | None = None  # as for feast.training_set: the repo is its folder
    end: AwareDatetime | None = None  # exclusive; default now (pipelines: the logical time)
    online_store: str | None = None  # redis://host:port/db; default the repo's SQLite
    views: list[str] | None = None  # default every view of the repo

    @field_validator("online_store")
    @classmethod
    def _online_store(cls, value: str | None) -> str | None:
        if value is not None:
            redis_online_config(value)
        return value


def materialize(
    context: TaskContext,
    *,
    project: str = "default",
    registry: Path | None = None,
    end: datetime | None = None,
    online_store: str | None = None,
    views: list[str] | None = None,
) -> TaskResult:
    repo_dir = repo_dir_for(context, project, registry).resolve()
    store = open_store(repo_dir, online_store)
    until = (end or datetime.now(UTC)).astimezone(UTC)
    names = views if views is not None else [view.name for view in store.list_feature_views()]
    context.report_progress(0.0, f"materialising {', '.join(names)} until {until.isoformat()}")
    store.materialize_incremental(end_date=until, feature_views=names)
    moved = {name: last_interval(store, name) for name in names}
    rows = sum(interval.rows for interval in moved.values())
    context.report_progress(1.0, f"{rows} rows moved to the online store")
    return TaskResult(
        outputs={
            "repo": str(repo_dir),
            "online_store": online_store or (repo_dir / ONLINE_FILE).as_uri(),
            "end": until.isoformat(),
            "materialized": {name: interval.to_json() for name, interval in moved.items()},
            "rows": rows,
        },
        metrics={"rows": float(rows)},
    )


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    rows: int

    def to_json(self) -> dict[str, JsonValue]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "rows": self.rows}


def last_interval(store: FeatureStore, name: str) -> Interval:
    """The interval just materialised (the registry's last) and how many rows it moved.
    Feast reports no count, so the same latest-row pull runs once more through the same
    offline store to count what was written."""
    view = store.get_feature_view(name)
    start, stop = view.materialization_intervals[-1]
    entities = [store.get_entity(entity) for entity in view.entities]
    keys, features, timestamp, created = _get_column_names(view, entities)
    assert view.batch_source is not None  # _get_column_names raises without one
    job = get_offline_store_from_config(store.config.offline_store).pull_latest_from_table_or_query(
        store.config, view.batch_source, keys, features, timestamp, created, start, stop
    )
    return Interval(start, stop, job.to_arrow().num_rows)


MATERIALIZE_PROGRAM = TaskProgram(
    name="feast.materialize", arguments=MaterializeArgs, function=materialize
)
