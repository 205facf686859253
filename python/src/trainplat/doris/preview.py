"""A quick look at a window of feature snapshots: the first rows as a small table.

    python -m trainplat.doris.preview (--source PATH | --source-url URL [--password-env NAME])
        --start ISO --end ISO [--limit 20] [--feature-keys k1 k2 ...] [--count]

Rows are those of `doris.extract` for the same window ([start, end) in UTC, ordered by time,
uuid, node_id), read with one statement of at most `--limit` rows. Without
`--feature-keys` the features column shows the raw JSON (cut to fit); with them, one column
per key (the keys are extracted in SQL after the allow-list check). Exit codes: 0 shown,
2 bad arguments (one line on stderr naming the problem), 1 the source failed."""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from trainplat.doris.query import WindowQuery
from trainplat.doris.source_args import SourceArgs, open_source

MAX_CELL = 60


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone (add Z or +00:00)")
    return moment


def _keys(values: Sequence[str]) -> list[str]:
    return [key for value in values for key in value.split(",") if key]


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="trainplat doris preview", description="Show the first rows of a window."
    )
    where = cli.add_mutually_exclusive_group(required=True)
    where.add_argument("--source", type=Path, help="SQLite file with feature_snapshots")
    where.add_argument("--source-url", help="doris://user@host:9030/db, mysql+pymysql://...")
    cli.add_argument("--password-env", help="environment variable holding the password")
    cli.add_argument("--start", type=_time, required=True, help="ISO-8601 with a timezone")
    cli.add_argument("--end", type=_time, required=True, help="ISO-8601 (exclusive)")
    cli.add_argument("--limit", type=int, default=20, help="rows to show (1-1000, default 20)")
    cli.add_argument("--feature-keys", nargs="+", default=None, help="keys (space/comma list)")
    cli.add_argument("--count", action="store_true", help="also count the window's rows")
    return cli


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [[_cut(cell) for cell in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(header)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    )
    return "\n".join(line.rstrip() for line in lines)


def _cut(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    try:
        if not 1 <= args.limit <= 1000:
            raise ValueError("--limit must be between 1 and 1000")
        SourceArgs(source=args.source, source_url=args.source_url, password_env=args.password_env)
        keys = _keys(args.feature_keys) if args.feature_keys is not None else None
        query = WindowQuery.build(args.start, args.end, feature_keys=keys)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        message = str(error).replace("\n", " ")
        print(f"trainplat doris preview: {message}", file=sys.stderr)
        return 2
    with open_source(args.source, args.source_url, args.password_env) as source:
        chunk = next(source.read(query, args.limit), [])[: args.limit]
        total = source.count(query) if args.count else None
    header = ["uuid", "node_id", "time", "is_tag"]
    header += list(query.feature_keys) if query.feature_keys is not None else ["features"]
    rows = []
    for row in chunk:
        cells = [row.uuid, row.node_id, row.time, "1" if row.is_tag else "0"]
        if query.feature_keys is None:
            cells.append(row.features)
        else:
            try:
                features = json.loads(row.features)
            except ValueError:
                features = {}
            if not isinstance(features, dict):
                features = {}
            cells.extend(_cell(features.get(key)) for key in query.feature_keys)
        rows.append(cells)
    print(render(header, rows))
    window = f"[{query.start.isoformat()}, {query.end.isoformat()})"
    shown = f"{len(rows)} rows shown" + (f" of {total}" if total is not None else "")
    print(f"-- {shown}; window {window}")
    return 0


def _cell(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


if __name__ == "__main__":
    sys.exit(main())
