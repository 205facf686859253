"""Parsing the `features` JSON objects of snapshot rows into typed columns."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from trainplat.doris.schema import SnapshotRow
from trainplat.tasks.result import FeatureKind

# Columns every snapshot file has; a feature key may not take one of these names.
SNAPSHOT_COLUMNS = ("uuid", "node_id", "time", "is_tag")


# JSON decodes to these types; numbers and booleans (as 0/1) are numeric, null is no value,
# strings and nested objects/arrays are categorical.
_KIND_OF_TYPE: dict[type, FeatureKind | None] = {
    bool: "numeric",
    int: "numeric",
    float: "numeric",
    str: "categorical",
    type(None): None,
}


def value_kind(value: Any) -> FeatureKind | None:
    return _KIND_OF_TYPE.get(type(value), "categorical")


def discover_feature_schema(
    chunks: Iterable[Sequence[SnapshotRow]], feature_keys: Sequence[str] | None
) -> dict[str, FeatureKind]:
    """One pass over the window to fix every feature column's kind before writing, since a
    key may first appear in any chunk and a Parquet file has one schema.

    A key seen with both kinds becomes categorical (its numbers are kept as text). A requested
    key that never occurs is kept as an all-missing numeric column, so the output schema is
    what the caller asked for."""
    wanted = set(feature_keys) if feature_keys is not None else None
    kinds: dict[str, FeatureKind] = {}
    for chunk in chunks:
        # (key, Python type) pairs first: far fewer kind decisions than there are values.
        seen = {
            (key, type(value))
            for row in chunk
            for key, value in json.loads(row.features).items()
            if wanted is None or key in wanted
        }
        for key, value_type in seen:
            kind = _KIND_OF_TYPE.get(value_type, "categorical")
            if kind is None:
                continue
            previous = kinds.get(key)
            kinds[key] = kind if previous in (None, kind) else "categorical"
    for key in wanted or ():
        kinds.setdefault(key, "numeric")
    clashes = sorted(set(kinds) & set(SNAPSHOT_COLUMNS))
    if clashes:
        raise ValueError(f"feature keys {clashes} collide with snapshot columns")
    return {key: kinds[key] for key in sorted(kinds)}


def numeric_values(objects: Sequence[dict[str, Any]], key: str) -> list[float | None]:
    values: list[float | None] = []
    for features in objects:
        value = features.get(key)
        values.append(
            float(value) if value is not None and value_kind(value) == "numeric" else None
        )
    return values


def categorical_values(objects: Sequence[dict[str, Any]], key: str) -> list[str | None]:
    values: list[str | None] = []
    for features in objects:
        value = features.get(key)
        if value is None:
            values.append(None)
        else:
            values.append(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    return values
