"""Storage usage accounting vs `du -sb` on the same tree, side by side.

    python3 benchmarks/storage/run.py [--files 1000000] [--repeats 3] [--bin .build/debug/trainplat]

Builds a tree of `--files` small files (1,000 per directory, sizes 0..4095 bytes) in a
temporary directory, then times `trainplat mount du` (the fts walk that quota checks and the
storage report use) and `du -sb`, interleaved, `--repeats` times each, with a warm page
cache (the first, untimed pass warms it for both). Prints the median seconds of each, their
ratio (goal: trainplat / du <= 2) and whether the byte counts agree.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build_tree(root: Path, files: int) -> None:
    per_directory = 1000
    for index in range(files):
        directory = root / f"d{index // per_directory:05d}"
        if index % per_directory == 0:
            directory.mkdir()
        with open(directory / f"f{index:07d}", "wb") as handle:
            handle.write(b"x" * (index * 7919 % 4096))


def timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - started, int(output.split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bin", default=os.environ.get("TRAINPLAT_BIN", ".build/debug/trainplat"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trainplat-du-", dir="/var/tmp") as scratch:
        root = Path(scratch) / "tree"
        root.mkdir()
        started = time.perf_counter()
        build_tree(root, args.files)
        print(
            f"built {args.files:,} files in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
        commands = {
            "trainplat mount du": [args.bin, "mount", "du", str(root)],
            "du -sb": ["du", "-sb", str(root)],
        }
        for command in commands.values():
            timed(command)  # warm the page cache and the dentry cache for both
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        totals: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, command in commands.items():
                elapsed, total = timed(command)
                seconds[name].append(elapsed)
                totals[name] = total
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    ratio = medians["trainplat mount du"] / medians["du -sb"]
    print(f"\n{args.files:,} files, median of {args.repeats}")
    print(f"{'tool':<20} {'median s':>9} {'bytes':>15}")
    for name in commands:
        print(f"{name:<20} {medians[name]:>9.3f} {totals[name]:>15,}")
    agree = totals["trainplat mount du"] == totals["du -sb"]
    verdict = "agree" if agree else "DIFFER"
    print(f"\nratio trainplat/du: {ratio:.2f} (goal <= 2.00); byte counts {verdict}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
