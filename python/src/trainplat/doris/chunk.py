"""A chunk of feature snapshots column by column, as a source fetched it.

Extraction never builds a Python object per row: the fetched tuples are transposed once
into columns, text columns become Arrow arrays, times are parsed by Arrow in one call, and
a `SnapshotRow` is made only for a row that is rejected (its raw values go to the rejects
file) or when a caller asks for rows (`rows()`: previews, tests, schema inference)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trainplat.doris.schema import SnapshotRow

TimeText = Callable[[Any], str]

# Fetched columns in order; the projected keys (or `features`) follow.
KEY_COLUMNS = 3  # uuid, node_id, time: the keyset of the paging


@dataclass(frozen=True)
class SnapshotChunk:
    """Rows of one chunk. `time` and `created_at` stay as fetched (text or datetime) until
    parsed in bulk; `features` holds each row's JSON object text (with a projection: rebuilt
    from the projected keys, or the raw text when `features` is not a JSON object)."""

    uuid: pa.Array  # string
    node_id: pa.Array  # string
    time: Sequence[Any]
    is_tag: pa.Array  # bool
    created_at: Sequence[Any]
    features: pa.Array  # string
    time_text: TimeText  # the dialect's fetched time -> SnapshotRow text

    def __len__(self) -> int:
        return len(self.time)

    def time_at(self, index: int) -> str:
        return _text(self.time_text, self.time[index])

    def take(self, indices: Sequence[int]) -> "SnapshotChunk":
        """The rows at these indices, in this order."""
        positions = pa.array(indices, pa.int64())
        return SnapshotChunk(
            uuid=self.uuid.take(positions),
            node_id=self.node_id.take(positions),
            time=[self.time[i] for i in indices],
            is_tag=self.is_tag.take(positions),
            created_at=[self.created_at[i] for i in indices],
            features=self.features.take(positions),
            time_text=self.time_text,
        )

    def key(self, index: int) -> tuple[Any, str, str]:
        """(time, uuid, node_id) of a row, the time as fetched: the keyset of the paging."""
        return self.time[index], self.uuid[index].as_py(), self.node_id[index].as_py()

    def head(self, count: int) -> "SnapshotChunk":
        """The first `count` rows."""
        return SnapshotChunk(
            uuid=self.uuid.slice(0, count),
            node_id=self.node_id.slice(0, count),
            time=self.time[:count],
            is_tag=self.is_tag.slice(0, count),
            created_at=self.created_at[:count],
            features=self.features.slice(0, count),
            time_text=self.time_text,
        )

    def extend(self, other: "SnapshotChunk") -> "SnapshotChunk":
        """This chunk's rows followed by `other`'s."""
        return SnapshotChunk(
            uuid=pa.concat_arrays([self.uuid, other.uuid]),
            node_id=pa.concat_arrays([self.node_id, other.node_id]),
            time=[*self.time, *other.time],
            is_tag=pa.concat_arrays([self.is_tag, other.is_tag]),
            created_at=[*self.created_at, *other.created_at],
            features=pa.concat_arrays([self.features, other.features]),
            time_text=self.time_text,
        )

    def row(self, index: int) -> SnapshotRow:
        return SnapshotRow(
            uuid=str(self.uuid[index].as_py()),
            node_id=str(self.node_id[index].as_py()),
            time=_text(self.time_text, self.time[index]),
            features=str(self.features[index].as_py()),
            is_tag=bool(self.is_tag[index].as_py()),
            created_at=_text(self.time_text, self.created_at[index]),
        )

    def rows(self) -> list[SnapshotRow]:
        uuids, nodes = self.uuid.to_pylist(), self.node_id.to_pylist()
        tags, features = self.is_tag.to_pylist(), self.features.to_pylist()
        return [
            SnapshotRow(
                uuid=uuids[i],
                node_id=nodes[i],
                time=_text(self.time_text, self.time[i]),
                features=features[i],
                is_tag=bool(tags[i]),
                created_at=_text(self.time_text, self.created_at[i]),
            )
            for i in range(len(self))
        ]

    @classmethod
    def from_rows(cls, rows: Sequence[SnapshotRow]) -> "SnapshotChunk":
        """Rows already in SnapshotRow form (times as fixed-width UTC text)."""
        return cls(
            uuid=pa.array([row.uuid for row in rows], pa.string()),
            node_id=pa.array([str(row.node_id) for row in rows], pa.string()),
            time=[row.time for row in rows],
            is_tag=pa.array([row.is_tag for row in rows], pa.bool_()),
            created_at=[row.created_at for row in rows],
            features=pa.array([row.features for row in rows], pa.string()),
            time_text=str,
        )


# A fetched column: Python values (a DB-API driver's) or Arrow (ADBC's).
Column: TypeAlias = Sequence[Any] | pa.Array | pa.ChunkedArray


def chunk_from_records(
    records: Sequence[Sequence[Any]], feature_keys: Sequence[str] | None, time_text: TimeText
) -> SnapshotChunk:
    """Fetched tuples (uuid, node_id, time, is_tag, created_at, then `features`, or one
    column per projected key and the invalid-object column) -> a chunk, one column at a time
    (`zip(*records)` takes five times as long: it advances one iterator per row per column)."""
    if not records:
        width = 6 if feature_keys is None else 6 + len(feature_keys)
        return chunk_from_columns([() for _ in range(width)], feature_keys, time_text)
    # Every row of a statement's result has the width of its description.
    columns = [list(map(itemgetter(index), records)) for index in range(len(records[0]))]
    return chunk_from_columns(columns, feature_keys, time_text)


def chunk_from_columns(
    columns: Sequence[Column], feature_keys: Sequence[str] | None, time_text: TimeText
) -> SnapshotChunk:
    """The columns of `chunk_from_records`, as Python sequences or Arrow arrays -> a chunk."""
    uuid, node_id, time, is_tag, created_at = columns[:5]
    if feature_keys is None:
        features = strings(columns[5])
    else:
        features = projected_objects(feature_keys, columns[5:-1], columns[-1])
    return SnapshotChunk(
        uuid=strings(uuid),
        node_id=strings(node_id),
        time=_python(time),
        is_tag=pc.cast(_arrow(is_tag, pa.int64()), pa.bool_()),
        created_at=_python(created_at),
        features=features,
        time_text=time_text,
    )


def _arrow(values: Column, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(type_)
    return pa.array(values, type_)


def _python(values: Column) -> Sequence[Any]:
    """Times stay Python values until parsed in bulk (`times_us`): a list per chunk costs
    little, and the key of the paging goes back to the source exactly as fetched."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return list(values.to_pylist())
    return values


def strings(values: Column) -> pa.Array:
    """A text column as an Arrow string array; drivers may hand back bytes (JSON columns)
    or numbers (a node id stored as an integer), which become their text."""
    try:
        return _arrow(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array(
            [
                None
                if value is None
                else value.decode(errors="replace")
                if isinstance(value, bytes)
                else str(value)
                for value in _python(values)
            ],
            pa.string(),
        )


def projected_objects(keys: Sequence[str], values: Sequence[Column], invalid: Column) -> pa.Array:
    """Each row's JSON object rebuilt from the projected keys' JSON texts (NULL: the key is
    absent), or the row's raw `features` text where the server said it is not an object (the
    parser then rejects it). The keys passed the allow-list, so they need no escaping."""
    count = len(invalid)
    if keys:
        # '"key":value,' per present key ('' where absent), joined, the last comma trimmed
        # (a JSON value never ends with a comma). No nulls reach the joins.
        pieces = [
            pc.fill_null(pc.binary_join_element_wise(f'"{key}":', strings(column), ",", ""), "")
            for key, column in zip(keys, values, strict=True)
        ]
        body = pc.binary_join_element_wise(*pieces, "")
        objects = pc.binary_join_element_wise("{", pc.utf8_rtrim(body, ","), "}", "")
    else:
        objects = pa.array(["{}"] * count, pa.string())
    raw = strings(invalid)
    return pc.if_else(pc.is_null(raw), objects, raw)


def times_us(values: Sequence[Any]) -> tuple[npt.NDArray[np.int64], list[int]]:
    """UTC microseconds of fetched times, parsed by Arrow in one call; indices of the values
    that are not times (their value is 0). Text with a zone (SQLite's `...Z`) is converted
    to UTC; text or datetimes without one (MySQL-protocol DATETIME) already are UTC."""
    try:
        array = pa.array(values)
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):
        return _times_one_by_one(values)
    if pa.types.is_timestamp(array.type):
        return array.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(), []
    if pa.types.is_string(array.type) and array.null_count == 0:
        for target in _cast_targets(array):
            try:
                parsed = pc.cast(array, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            return parsed.cast(pa.int64()).to_numpy(), []
    return _times_one_by_one(values)


def _cast_targets(texts: pa.Array) -> tuple[pa.DataType, pa.DataType]:
    """Timestamp types to parse time texts as, the likely one first (judged by the first
    value): a cast that fails costs about 30 times one that succeeds."""
    zoned = (pa.timestamp("us", tz="UTC"), pa.timestamp("us"))
    first = texts[0].as_py() if len(texts) else ""
    if first.endswith("Z") or (len(first) > 6 and first[-6] in "+-" and first[-3] == ":"):
        return zoned
    return zoned[1], zoned[0]


def _times_one_by_one(values: Sequence[Any]) -> tuple[npt.NDArray[np.int64], list[int]]:
    """The slow path of `times_us`: a chunk holding a value that is not a time."""
    out = np.zeros(len(values), dtype=np.int64)
    bad = []
    for index, value in enumerate(values):
        micros = _one(value)
        if micros is None:
            bad.append(index)
        else:
            out[index] = micros
    return out, bad


def _one(value: Any) -> int | None:
    try:
        array = pa.array([value])
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):
        return None
    if pa.types.is_timestamp(array.type):
        return int(array.cast(pa.timestamp("us")).cast(pa.int64())[0].as_py())
    if not pa.types.is_string(array.type):
        return None
    for target in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
        try:
            return int(pc.cast(array, target).cast(pa.int64())[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _text(time_text: TimeText, value: Any) -> str:
    """The fixed-width UTC text of a fetched time; a value that is not a time is passed on
    as it is, so the parser rejects its row (`bad_timestamp`) instead of the read failing."""
    try:
        return time_text(value)
    except (ValueError, TypeError, OverflowError):
        return str(value)
