"""The `feature_snapshots` table: its DDL and how its `time` column is encoded.

This is the one place that knows the table's layout; the MariaDB/Doris dialects added later
put their DDL next to SQLITE_DDL."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

TABLE = "feature_snapshots"

SQLITE_DDL = (
    f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    uuid TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    time TEXT NOT NULL,
    features TEXT NOT NULL,
    is_tag INTEGER NOT NULL DEFAULT 0 CHECK (is_tag IN (0, 1)),
    created_at TEXT NOT NULL
)
""",
    f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_time ON {TABLE} (time)",
)

# SQLite has no timestamp type: times are stored as fixed-width UTC text, so comparing the
# text compares the instants and the time index serves range queries.
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def encode_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no timezone")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def encode_times_us(micros: npt.NDArray[np.int64]) -> list[str]:
    """Vectorised encode of UTC epoch microseconds; same text as `encode_time`."""
    texts = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [f"{text}Z" for text in texts.tolist()]


def decode_times_us(texts: Sequence[str]) -> npt.NDArray[np.datetime64]:
    """Vectorised decode to UTC microseconds (numpy parses ISO-8601 without the `Z`)."""
    return np.array([text.removesuffix("Z") for text in texts], dtype="datetime64[us]")


@dataclass(frozen=True)
class SnapshotRow:
    """One row as stored: `features` is the raw JSON object text."""

    uuid: str
    node_id: int
    time: str
    features: str
    is_tag: bool
    created_at: str
