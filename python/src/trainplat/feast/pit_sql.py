"""Point-in-time join SQL: for each entity (label) row, every feature view's latest row with
the same join keys at or before the row's event time, null when there is none or when it is
older than the view's TTL. Label rows are never dropped, and the result keeps their order.

`PointInTimeJoinSql` is the seam: DuckDB runs it as an ASOF JOIN over Parquet files; the
MySQL-protocol variants (Doris, and MariaDB where the dialects agree) run it as a window
function inside the server, so rows never leave it."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from trainplat.doris.keys import validate_feature_key

ROW_COLUMN = "__trainplat_row"


@dataclass(frozen=True)
class ViewJoin:
    """One feature view to join. `relation` is SQL for the view's rows (a table name, a
    `read_parquet(...)` call or a parenthesised query); `join_keys` maps entity-frame columns
    to the relation's columns; `features` maps relation columns to output column names;
    `ttl_us` of 0 or None means no TTL (Feast's convention)."""

    relation: str
    timestamp_column: str
    join_keys: tuple[tuple[str, str], ...]
    features: tuple[tuple[str, str], ...]
    ttl_us: int | None = None


def _checked(name: str) -> str:
    """Names reach SQL text, so they pass the feature-key allow-list (plus `__` prefixes)."""
    return validate_feature_key(name)


class PointInTimeJoinSql(ABC):
    name: ClassVar[str]

    @abstractmethod
    def quote(self, identifier: str) -> str: ...

    @abstractmethod
    def join(
        self,
        entity_relation: str,
        entity_columns: tuple[str, ...],
        event_timestamp: str,
        views: tuple[ViewJoin, ...],
        *,
        ordered: bool = True,
    ) -> str:
        """A SELECT returning `entity_columns` then every view's features, one row per row
        of `entity_relation` (which must have an integer `__trainplat_row` column), ordered
        by it; in the engine's own order when not `ordered` (the caller then names
        `__trainplat_row` among `entity_columns` and restores the order itself)."""

    @staticmethod
    def _order_by(row: str, ordered: bool) -> str:
        return f" ORDER BY e.{row}" if ordered else ""

    def _entity_list(self, alias: str, entity_columns: tuple[str, ...]) -> list[str]:
        return [f"{alias}.{self.quote(_checked(column))}" for column in entity_columns]


class DuckDbAsofJoinSql(PointInTimeJoinSql):
    """One ASOF LEFT JOIN per view: DuckDB picks the greatest view timestamp <= the event
    time per join key in one sort-merge pass; LEFT keeps rows without a match (nulls)."""

    name = "duckdb"

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def join(
        self,
        entity_relation: str,
        entity_columns: tuple[str, ...],
        event_timestamp: str,
        views: tuple[ViewJoin, ...],
        *,
        ordered: bool = True,
    ) -> str:
        q = self.quote
        select = self._entity_list("e", entity_columns)
        joins = []
        event = f"e.{q(_checked(event_timestamp))}"
        for index, view in enumerate(views):
            alias = f"f{index}"
            ts = f"{alias}.{q(_checked(view.timestamp_column))}"
            conditions = [
                f"e.{q(_checked(entity))} = {alias}.{q(_checked(column))}"
                for entity, column in view.join_keys
            ]
            conditions.append(f"{event} >= {ts}")
            joins.append(f"ASOF LEFT JOIN {view.relation} AS {alias} ON {' AND '.join(conditions)}")
            for column, output in view.features:
                value = f"{alias}.{q(_checked(column))}"
                if view.ttl_us:
                    value = (
                        f"CASE WHEN {ts} >= {event} - to_microseconds({int(view.ttl_us)}) "
                        f"THEN {value} END"
                    )
                select.append(f"{value} AS {q(output)}")
        return (
            f"SELECT {', '.join(select)} FROM {entity_relation} AS e "
            f"{' '.join(joins)}{self._order_by(q(ROW_COLUMN), ordered)}"
        )


class MySqlProtocolJoinSql(PointInTimeJoinSql, ABC):
    """Window-function form for servers without ASOF JOIN: per view, the candidate rows
    in [event - ttl, event] ranked newest first, then the first of each entity row joined
    back onto the entity relation with LEFT JOIN (rows without a candidate keep nulls).
    Rows sharing the newest timestamp are ranked arbitrarily, as in Feast's own stores."""

    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    @abstractmethod
    def ttl_lower_bound(self, event: str, ttl_us: int) -> str:
        """SQL for `event` minus `ttl_us` microseconds."""

    def join(
        self,
        entity_relation: str,
        entity_columns: tuple[str, ...],
        event_timestamp: str,
        views: tuple[ViewJoin, ...],
        *,
        ordered: bool = True,
    ) -> str:
        q = self.quote
        row = q(ROW_COLUMN)
        event = f"e.{q(_checked(event_timestamp))}"
        ctes, joins = [], []
        select = self._entity_list("e", entity_columns)
        for index, view in enumerate(views):
            alias, cte = f"f{index}", f"v{index}"
            ts = f"{alias}.{q(_checked(view.timestamp_column))}"
            conditions = [
                f"e.{q(_checked(entity))} = {alias}.{q(_checked(column))}"
                for entity, column in view.join_keys
            ]
            conditions.append(f"{ts} <= {event}")
            if view.ttl_us:
                conditions.append(f"{ts} >= {self.ttl_lower_bound(event, int(view.ttl_us))}")
            values = [
                f"{alias}.{q(_checked(column))} AS {q(output)}" for column, output in view.features
            ]
            ctes.append(
                f"{cte} AS (SELECT e.{row} AS {row}, {', '.join(values)}, "
                f"ROW_NUMBER() OVER (PARTITION BY e.{row} ORDER BY {ts} DESC) AS `__rank` "
                f"FROM {entity_relation} AS e JOIN {view.relation} AS {alias} "
                f"ON {' AND '.join(conditions)})"
            )
            joins.append(f"LEFT JOIN {cte} ON {cte}.{row} = e.{row} AND {cte}.`__rank` = 1")
            select.extend(f"{cte}.{q(output)}" for _, output in view.features)
        return (
            f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM {entity_relation} AS e "
            f"{' '.join(joins)}{self._order_by(row, ordered)}"
        )


class MariaDbJoinSql(MySqlProtocolJoinSql):
    name = "mariadb"

    def ttl_lower_bound(self, event: str, ttl_us: int) -> str:
        return f"({event} - INTERVAL {int(ttl_us)} MICROSECOND)"


class DorisJoinSql(MySqlProtocolJoinSql):
    """Apache Doris: the same statement; only the interval arithmetic is spelled its way.
    Checked by generated-SQL tests only (no Doris server runs here); the shared form runs
    on MariaDB in tests/integration/test_feast_mariadb.py."""

    name = "doris"

    def ttl_lower_bound(self, event: str, ttl_us: int) -> str:
        return f"MICROSECONDS_SUB({event}, {int(ttl_us)})"


JOIN_SQL: dict[str, type[PointInTimeJoinSql]] = {
    "duckdb": DuckDbAsofJoinSql,
    "mariadb": MariaDbJoinSql,
    "mysql": MariaDbJoinSql,
    "doris": DorisJoinSql,
}
