"""RetrievalJobs of the trainplat offline stores: the shared part, and a DuckDB query run on
demand (the server-side job is in doris_offline_store.py)."""

from abc import ABC, abstractmethod
from collections.abc import Callable

import duckdb
import pandas as pd
import pyarrow as pa
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.on_demand_feature_view import OnDemandFeatureView

# Builds the query on a fresh connection (registering in-memory tables) and returns its SQL.
QueryBuilder = Callable[[duckdb.DuckDBPyConnection], str]
# Turns the query's result into the job's (e.g. restores the entity frame's order).
Finisher = Callable[[pa.Table], pa.Table]


def connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    # Timestamps come back as UTC whatever the machine's zone is.
    connection.execute("SET TimeZone = 'UTC'")
    # DuckDB draws a progress bar on stderr for queries over ~2 s: noise in a task's log.
    connection.execute("SET enable_progress_bar = false")
    return connection


class PlannedRetrievalJob(RetrievalJob, ABC):
    """What every trainplat job shares: no on-demand views, results built as Arrow."""

    def __init__(
        self, *, full_feature_names: bool, metadata: RetrievalMetadata | None = None
    ) -> None:
        self._full_feature_names = full_feature_names
        self._metadata = metadata

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        return []

    @property
    def metadata(self) -> RetrievalMetadata | None:
        return self._metadata

    @abstractmethod
    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table: ...

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self._to_arrow_internal(timeout).to_pandas()
        return frame


class DuckDbRetrievalJob(PlannedRetrievalJob):
    def __init__(
        self,
        build: QueryBuilder,
        *,
        full_feature_names: bool,
        metadata: RetrievalMetadata | None = None,
        finish: Finisher | None = None,
    ) -> None:
        super().__init__(full_feature_names=full_feature_names, metadata=metadata)
        self._build = build
        self._finish = finish

    def to_sql(self) -> str:
        with connect() as connection:
            return self._build(connection)

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:  # noqa: ARG002
        with connect() as connection:
            table = connection.sql(self._build(connection)).to_arrow_table()
        return self._finish(table) if self._finish else table
