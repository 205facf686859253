"""`python -m trainplat.tasks <name>`: run one built-in task program under the contract."""

import argparse
import logging
import os
import sys

from trainplat.tasks.registry import REGISTRY
from trainplat.tasks.runner import run_task


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m trainplat.tasks")
    parser.add_argument("name", help=f"task program, one of: {', '.join(sorted(REGISTRY))}")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    return run_task(args.name, os.environ, REGISTRY)


if __name__ == "__main__":
    sys.exit(main())
