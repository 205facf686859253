"""What an extraction asks for: one half-open UTC window plus filters and a projection,
normalised so equal questions compare (and hash) equal."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trainplat.doris.keys import validate_feature_key

# A filter list is expanded into one bound parameter per value; this keeps statements small.
MAX_FILTER_VALUES = 10_000
MAX_FILTER_VALUE_LENGTH = 255


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} {moment.isoformat()} has no timezone")
    return moment.astimezone(UTC)


def _values(values: Iterable[str] | None, name: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    unique = sorted(set(values))
    if not unique:
        raise ValueError(f"{name} filter is an empty list (omit it to select everything)")
    if len(unique) > MAX_FILTER_VALUES:
        raise ValueError(f"{name} filter has {len(unique)} values; at most {MAX_FILTER_VALUES}")
    for value in unique:
        if not isinstance(value, str):
            raise ValueError(f"{name} filter values must be strings, got {value!r}")
        if len(value) > MAX_FILTER_VALUE_LENGTH:
            raise ValueError(f"{name} filter value longer than {MAX_FILTER_VALUE_LENGTH}")
    return tuple(unique)


@dataclass(frozen=True)
class WindowQuery:
    """Rows with start <= time < end (UTC), optionally only the given uuids / node ids /
    tag state, with only the given feature keys projected out of `features`."""

    start: datetime
    end: datetime
    uuids: tuple[str, ...] | None = None
    node_ids: tuple[str, ...] | None = None
    is_tag: bool | None = None
    feature_keys: tuple[str, ...] | None = None

    @classmethod
    def build(
        cls,
        start: datetime,
        end: datetime,
        *,
        uuids: Iterable[str] | None = None,
        node_ids: Iterable[str] | None = None,
        is_tag: bool | None = None,
        feature_keys: Iterable[str] | None = None,
    ) -> "WindowQuery":
        start, end = _utc(start, "start"), _utc(end, "end")
        if start >= end:
            raise ValueError(f"empty window: start {start.isoformat()} is not before end")
        keys = None
        if feature_keys is not None:
            keys = tuple(sorted({validate_feature_key(key) for key in feature_keys}))
        return cls(
            start=start,
            end=end,
            uuids=_values(uuids, "uuid"),
            node_ids=_values(node_ids, "node_id"),
            is_tag=is_tag,
            feature_keys=keys,
        )

    def to_json(self) -> dict[str, Any]:
        """Canonical form, part of the cache key."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "uuids": list(self.uuids) if self.uuids is not None else None,
            "node_ids": list(self.node_ids) if self.node_ids is not None else None,
            "is_tag": self.is_tag,
            "feature_keys": list(self.feature_keys) if self.feature_keys is not None else None,
        }
