"""Parsing the `features` JSON objects of snapshot rows into typed Arrow columns.

The feature schema (`{key: numeric|categorical}` plus the keys a row must have) is either
given explicitly or inferred from the rows. Rows that do not fit are never a crash and never
silently dropped: each is rejected with one reason, counted, and handed back with the raw
row so the caller can write it to the rejects file.

Reasons, in the order they are checked (a row gets the first that applies):
`malformed_json` (not JSON, or not a JSON object), `bad_timestamp` (unparseable, or outside
the window), `type_conflict` (a numeric key holding a string, object or array),
`non_finite` (NaN or +-Infinity, or a number beyond float64), `missing_key` (a required key
absent or null), `unknown_key` (a key the inferred schema does not have: it appeared only
after the schema was inferred)."""

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from trainplat.doris.chunk import SnapshotChunk, times_us
from trainplat.doris.keys import validate_feature_key
from trainplat.doris.schema import SnapshotRow
from trainplat.tasks.result import FeatureKind

# Columns every snapshot file has; a feature key may not take one of these names.
SNAPSHOT_COLUMNS = ("uuid", "node_id", "time", "is_tag")

RejectReason = Literal[
    "malformed_json",
    "bad_timestamp",
    "type_conflict",
    "non_finite",
    "missing_key",
    "unknown_key",
]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)
KINDS: tuple[FeatureKind, ...] = ("numeric", "categorical")

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


@dataclass(frozen=True)
class FeatureSchema:
    """Feature key -> kind, in column order (sorted), and the keys every row must have."""

    kinds: dict[str, FeatureKind]
    required: frozenset[str] = frozenset()
    explicit: bool = False  # given by the caller (else inferred: unseen keys are rejects)

    def __post_init__(self) -> None:
        for key, kind in self.kinds.items():
            validate_feature_key(key)
            if kind not in KINDS:
                raise ValueError(f"feature {key!r}: kind {kind!r} is not numeric|categorical")
        clashes = sorted(set(self.kinds) & set(SNAPSHOT_COLUMNS))
        if clashes:
            raise ValueError(f"feature keys {clashes} collide with snapshot columns")
        unknown = sorted(self.required - set(self.kinds))
        if unknown:
            raise ValueError(f"required keys {unknown} are not in the schema")

    @classmethod
    def parse(cls, items: Sequence[str]) -> "FeatureSchema":
        """From the task argument form: `["amount:numeric", "label:numeric:required",
        "city:categorical"]`."""
        kinds: dict[str, FeatureKind] = {}
        required: set[str] = set()
        if not items:
            raise ValueError("feature_schema is empty (omit it to infer the schema)")
        for item in items:
            parts = str(item).split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "required"):
                raise ValueError(
                    f"feature_schema item {item!r} is not 'key:numeric|categorical[:required]'"
                )
            key = validate_feature_key(parts[0])
            if parts[1] not in KINDS:
                raise ValueError(f"feature_schema item {item!r}: kind must be numeric|categorical")
            if key in kinds:
                raise ValueError(f"feature_schema names {key!r} twice")
            kinds[key] = "numeric" if parts[1] == "numeric" else "categorical"
            if len(parts) == 3:
                required.add(key)
        return cls({key: kinds[key] for key in sorted(kinds)}, frozenset(required), explicit=True)

    def to_json(self) -> dict[str, Any]:
        return {"kinds": dict(self.kinds), "required": sorted(self.required)}


def _object(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class SchemaInference:
    """Accumulates key kinds over rows: a key seen with both kinds becomes categorical (its
    numbers are kept as text). Malformed rows are skipped here (the parser rejects them)."""

    def __init__(self, feature_keys: Sequence[str] | None = None) -> None:
        self.wanted = set(feature_keys) if feature_keys is not None else None
        self.kinds: dict[str, FeatureKind] = {}
        self.rows = 0

    def add(self, chunk: SnapshotChunk | Sequence[SnapshotRow]) -> None:
        # (key, Python type) pairs first: far fewer kind decisions than there are values.
        seen: set[tuple[str, type]] = set()
        if isinstance(chunk, SnapshotChunk):
            texts: list[Any] = chunk.features.to_pylist()
        else:
            texts = [row.features for row in chunk]
        for text in texts:
            features = _object(text)
            if features is not None:
                seen.update((key, type(value)) for key, value in features.items())
        self.rows += len(chunk)
        for key, value_type in seen:
            if self.wanted is not None and key not in self.wanted:
                continue
            kind = _KIND_OF_TYPE.get(value_type, "categorical")
            if kind is None:
                continue
            previous = self.kinds.get(key)
            self.kinds[key] = kind if previous in (None, kind) else "categorical"

    def schema(self) -> FeatureSchema:
        kinds = dict(self.kinds)
        for key in self.wanted or ():
            kinds.setdefault(key, "numeric")
        # Keys that are not valid feature keys cannot become columns: rows holding them are
        # rejected as `unknown_key` rather than crashing the extraction.
        usable = {}
        for key in sorted(kinds):
            try:
                validate_feature_key(key)
            except ValueError:
                continue
            if key not in SNAPSHOT_COLUMNS:
                usable[key] = kinds[key]
        return FeatureSchema(usable)


def discover_feature_schema(
    chunks: Iterable[SnapshotChunk | Sequence[SnapshotRow]], feature_keys: Sequence[str] | None
) -> dict[str, FeatureKind]:
    """Kinds of every key in the rows (a requested key that never occurs is numeric)."""
    inference = SchemaInference(feature_keys)
    for chunk in chunks:
        inference.add(chunk)
    return inference.schema().kinds


@dataclass
class Reject:
    row: SnapshotRow
    reason: RejectReason
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "detail": self.detail,
            "uuid": self.row.uuid,
            "node_id": self.row.node_id,
            "time": self.row.time,
            "is_tag": self.row.is_tag,
            "created_at": self.row.created_at,
            "features": self.row.features,
        }


Reasons = dict[int, tuple[RejectReason, str]]  # row index in the chunk -> first reason


@dataclass
class ParsedChunk:
    columns: list[pa.Array]  # uuid, node_id, time (int64 µs), is_tag, features... (accepted)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """How many rows were accepted."""
        return len(self.columns[0])


def _ndjson(features: pa.Array) -> pa.Buffer:
    """The features column as newline-delimited JSON, without a Python string per row: each
    value gets a newline appended and the values' contiguous bytes are the document."""
    lines = pc.binary_join_element_wise(features, "\n", "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2].slice(int(first), int(last - first))


def _one_line_each(document: pa.Buffer, rows: int) -> bool:
    """Whether the document has exactly one line per row: a value holding a line break would
    be read as several lines (and an empty value as none). Counting bytes is a fraction of
    the cost of a regular expression over the values."""
    data = np.frombuffer(document, dtype=np.uint8)
    return int(np.count_nonzero(data == ord("\n"))) == rows and not (data == ord("\r")).any()


# Arrow's JSON reader parses blocks of the document on its CPU thread pool: a chunk is cut
# into about this many blocks so that every core gets a share of it.
_PARSE_BLOCKS = 4


def _block_size(features: pa.Array, document_bytes: int) -> int:
    """Bytes per block of the JSON reader: a share of the document, and longer than its
    longest line (a line may straddle one block boundary, never two)."""
    longest = pc.max(pc.binary_length(features)).as_py() or 0
    return max(longest + 2, -(-document_bytes // _PARSE_BLOCKS))


# Key orders whose reader schema a parser keeps (rows of one source rarely differ).
_MAX_KEY_ORDERS = 64


class ChunkParser:
    """Turns chunks of rows into Arrow columns of one schema, rejecting rows that do not fit.

    Fast path: Arrow converts the parsed objects in C++ (ints and booleans to float64, absent
    keys to null) and the checks are vectorised. It refuses numbers in a string column and
    strings in a numeric one; such chunks take the per-value path, which writes numbers of a
    categorical key as text and rejects the conflicting rows."""

    def __init__(self, schema: FeatureSchema, start_us: int, end_us: int) -> None:
        self.schema = schema
        self.start_us = start_us
        self.end_us = end_us
        self.struct = pa.struct(
            [
                pa.field(key, pa.float64() if kind == "numeric" else pa.string())
                for key, kind in schema.kinds.items()
            ]
        )
        self.known = frozenset(schema.kinds)
        self.counts: dict[RejectReason, int] = dict.fromkeys(REJECT_REASONS, 0)
        self._schemas_by_order: dict[tuple[str, ...], pa.Schema] = {}

    def parse(self, chunk: SnapshotChunk) -> ParsedChunk:
        fast = self._parse_fast(chunk)
        return fast if fast is not None else self._parse_slow(chunk)

    def _parse_fast(self, chunk: SnapshotChunk) -> ParsedChunk | None:
        """Arrow's C++ JSON reader over the chunk as newline-delimited JSON, with the schema.
        Any row it refuses (malformed, not an object, a value of the other kind, a key the
        inferred schema lacks) or a row spanning lines sends the chunk to the slow path,
        which finds the offending rows."""
        features = chunk.features
        if not len(chunk) or not self.schema.kinds or features.null_count:
            return None
        data = _ndjson(features)
        if not _one_line_each(data, len(chunk)):
            return None
        try:
            table = pa_json.read_json(
                pa.BufferReader(data),
                read_options=pa_json.ReadOptions(
                    use_threads=True, block_size=_block_size(features, data.size)
                ),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=self._schema_in_order_of(features),
                    unexpected_field_behavior="ignore" if self.schema.explicit else "error",
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if table.num_rows != len(chunk):
            return None
        times, bad_times = times_us(chunk.time)
        reasons = self._time_reasons(chunk, times, bad_times)
        columns = [table.column(key).combine_chunks() for key in self.schema.kinds]
        self._check_columns(columns, reasons)
        return self._assemble(chunk, times, columns, reasons, [])

    def _schema_in_order_of(self, features: pa.Array) -> pa.Schema:
        """The reader's schema with its fields in the order the chunk's first row lists its
        keys (the schema's other keys after them). Arrow's reader expects a row's keys in
        the order of the schema; a key out of that order is looked up by name, and in the
        sorted order of the benchmark's rows that made the parse a third slower (39-47 ms
        against 30 ms per 10k rows). The order changes no value: columns are taken by name."""
        first = _object(features[0].as_py())
        listed = tuple(key for key in first or () if key in self.known)
        schema = self._schemas_by_order.get(listed)
        if schema is None:
            order = [*listed, *(key for key in self.schema.kinds if key not in listed)]
            schema = pa.schema([self.struct.field(key) for key in order])
            if len(self._schemas_by_order) >= _MAX_KEY_ORDERS:
                self._schemas_by_order.clear()
            self._schemas_by_order[listed] = schema
        return schema

    def _time_reasons(
        self, chunk: SnapshotChunk, times: np.ndarray[Any, Any], bad_times: list[int]
    ) -> Reasons:
        reasons: Reasons = {}
        for index in bad_times:
            reasons[index] = (
                "bad_timestamp",
                f"time {chunk.time_at(index)!r} is not a timestamp",
            )
        outside = np.flatnonzero((times < self.start_us) | (times >= self.end_us))
        for index in outside.tolist():
            if index not in reasons:
                reasons[index] = (
                    "bad_timestamp",
                    f"time {chunk.time_at(index)} is outside the window",
                )
        return reasons

    def _assemble(
        self,
        chunk: SnapshotChunk,
        times: np.ndarray[Any, Any],
        features: list[pa.Array],
        reasons: Reasons,
        rejects: list[Reject],
    ) -> ParsedChunk:
        for index in sorted(reasons):
            rejects.append(Reject(chunk.row(index), *reasons[index]))
        for reject in rejects:
            self.counts[reject.reason] += 1
        columns = [chunk.uuid, chunk.node_id, pa.array(times, pa.int64()), chunk.is_tag]
        columns.extend(features)
        if not reasons:
            return ParsedChunk(columns, rejects)
        keep = np.ones(len(chunk), dtype=bool)
        keep[list(reasons)] = False
        mask = pa.array(keep, pa.bool_())
        return ParsedChunk([column.filter(mask) for column in columns], rejects)

    def _parse_slow(self, chunk: SnapshotChunk) -> ParsedChunk:
        objects: list[dict[str, Any]] = []
        good: list[int] = []
        rejects: list[Reject] = []
        for index, text in enumerate(chunk.features.to_pylist()):
            parsed = _object(text)
            if parsed is None:
                row = chunk.row(index)
                rejects.append(Reject(row, "malformed_json", "features is not a JSON object"))
            else:
                good.append(index)
                objects.append(parsed)
        objects_chunk = chunk.take(good) if rejects else chunk
        times, bad_times = times_us(objects_chunk.time)
        reasons = self._time_reasons(objects_chunk, times, bad_times)
        features = self._features(objects, reasons)
        if not self.schema.explicit:
            for index, item in enumerate(objects):
                if index not in reasons:
                    extra = item.keys() - self.known
                    if extra:
                        detail = f"keys {sorted(extra)[:5]} are not in the inferred schema"
                        reasons[index] = ("unknown_key", detail)
        return self._assemble(objects_chunk, times, features, reasons, rejects)

    def _features(self, objects: list[dict[str, Any]], reasons: Reasons) -> list[pa.Array]:
        try:
            struct = pa.array(objects, type=self.struct)
        except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):
            return self._features_per_value(objects, reasons)
        columns: list[pa.Array] = [struct.field(index) for index in range(len(self.known))]
        self._check_columns(columns, reasons)
        return columns

    def _check_columns(self, columns: list[pa.Array], reasons: Reasons) -> None:
        for column, (key, kind) in zip(columns, self.schema.kinds.items(), strict=True):
            if kind == "numeric":
                finite = pc.is_finite(column)
                # Nulls are absent keys, not non-finite numbers.
                bad = pc.invert(pc.fill_null(finite, True))
                if pc.any(bad).as_py():
                    values = column.to_numpy(zero_copy_only=False)
                    for index in np.flatnonzero(bad.to_numpy(zero_copy_only=False)).tolist():
                        if index not in reasons:
                            reasons[index] = ("non_finite", f"{key} is {values[index]}")
            if key in self.schema.required and column.null_count:
                nulls = column.is_null().to_numpy(zero_copy_only=False)
                for index in np.flatnonzero(nulls).tolist():
                    if index not in reasons:
                        reasons[index] = ("missing_key", f"required key {key} is absent or null")

    def _features_per_value(
        self, objects: list[dict[str, Any]], reasons: Reasons
    ) -> list[pa.Array]:
        numeric: dict[str, list[float | None]] = {}
        categorical: dict[str, list[str | None]] = {}
        for key, kind in self.schema.kinds.items():
            if kind == "numeric":
                numeric[key] = [None] * len(objects)
            else:
                categorical[key] = [None] * len(objects)
        for index, item in enumerate(objects):
            for key, kind in self.schema.kinds.items():
                problem = self._value(item.get(key), key, kind, index, numeric, categorical)
                if problem is not None and index not in reasons:
                    reasons[index] = problem
        return [
            pa.array(numeric[key], pa.float64())
            if kind == "numeric"
            else pa.array(categorical[key], pa.string())
            for key, kind in self.schema.kinds.items()
        ]

    def _value(
        self,
        value: Any,
        key: str,
        kind: FeatureKind,
        index: int,
        numeric: dict[str, list[float | None]],
        categorical: dict[str, list[str | None]],
    ) -> tuple[RejectReason, str] | None:
        if value is None:
            if key in self.schema.required:
                return "missing_key", f"required key {key} is absent or null"
            return None
        if isinstance(value, bool | int | float):
            try:
                number = float(value)
            except OverflowError:
                return "non_finite", f"{key} is beyond float64"
            if not math.isfinite(number):
                return "non_finite", f"{key} is {value}"
            if kind == "numeric":
                numeric[key][index] = number
            else:
                categorical[key][index] = json.dumps(value)
            return None
        if kind == "numeric":
            return (
                "type_conflict",
                f"{key} is numeric but holds {type(value).__name__} {value!r:.40}",
            )
        categorical[key][index] = (
            value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        )
        return None
