"""The `feature_snapshots` table: its name, its row type and how times are encoded as text.

The DDL of each kind of source (SQLite, MariaDB, Doris) is in `dialects.py`. Columns follow
the seed: uuid and node_id are text (VARCHAR(255)), time and created_at UTC timestamps,
features a JSON object, is_tag a boolean."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

TABLE = "feature_snapshots"

# SQLite has no timestamp type: times are stored as fixed-width UTC text, so comparing the
# text compares the instants and the time index serves range queries.
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def encode_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no timezone")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def decode_time(text: str) -> datetime:
    """The inverse of `encode_time` (also accepts ISO-8601 text with an offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def encode_times_us(micros: npt.NDArray[np.int64]) -> list[str]:
    """Vectorised encode of UTC epoch microseconds; same text as `encode_time`."""
    texts = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [f"{text}Z" for text in texts.tolist()]


def decode_times_us(texts: Sequence[str]) -> npt.NDArray[np.datetime64]:
    """Vectorised decode to UTC microseconds (numpy parses ISO-8601 without the `Z`)."""
    return np.array([text.removesuffix("Z") for text in texts], dtype="datetime64[us]")


@dataclass(frozen=True)
class SnapshotRow:
    """One row as stored: `features` is the raw JSON object text; `node_id` is text in every
    source, as the seed's VARCHAR(255)."""

    uuid: str
    node_id: str
    time: str
    features: str
    is_tag: bool
    created_at: str
