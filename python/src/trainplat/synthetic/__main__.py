"""`python -m trainplat.synthetic --out PATH.sqlite ...`: write synthetic snapshots into the
embedded source and print a one-line summary."""

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from trainplat.doris.source import SqliteSource
from trainplat.synthetic.generator import SyntheticConfig, generate


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone (e.g. append Z)")
    return moment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainplat.synthetic", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="SQLite file (created if absent)")
    parser.add_argument("--start", type=_aware, required=True, help="ISO-8601, with timezone")
    parser.add_argument("--end", type=_aware, required=True, help="ISO-8601, with timezone")
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--features", type=int, default=20, help="10 to 50")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift", type=float, default=0.0, help="0 (none) to 1 (full)")
    parser.add_argument("--snapshots-per-entity", type=float, default=50.0)
    parser.add_argument("--tag-fraction", type=float, default=0.2)
    args = parser.parse_args(argv)
    try:
        config = SyntheticConfig(
            start=args.start,
            end=args.end,
            entities=args.entities,
            features=args.features,
            seed=args.seed,
            drift=args.drift,
            snapshots_per_entity=args.snapshots_per_entity,
            tag_fraction=args.tag_fraction,
        )
    except ValueError as error:
        parser.error(str(error))
    began = time.perf_counter()
    snapshots = generate(config)
    with SqliteSource.create(args.out) as source:
        written = source.write(snapshots.snapshot_rows())
    print(
        f"wrote {written} rows ({len(snapshots.entity_uuids)} entities, {config.features} "
        f"features, {int(snapshots.is_tag.sum())} tagged) to {args.out} "
        f"in {time.perf_counter() - began:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
