"""Incremental learning benchmark: JOINT (full retrain on every window so far) vs NAIVE
fine-tune vs LwF vs LwF+replay vs LwF+replay+EWC on a stream of windows with drift.

    cd python && ../.venv/bin/python ../benchmarks/incremental/run.py [--seeds 3] [--windows 4]

The stream is the synthetic generator (`trainplat.synthetic`, drift model in its docstring)
over `--windows` consecutive periods with `--drift` (default 1.0): feature means shift,
new categorical values appear and the label rule rotates. Each window goes through the real
`doris.extract` and `datasets.training_set` tasks; 25 % of each window's entities are held
out as its test set (`trainplat.learning.holdout`). Period 1 trains one model from scratch
that every strategy starts from; each later period trains each strategy once. Reported,
as medians over seeds (AUC on held-out rows):

- newest: AUC on the last window after the last period;
- earlier: mean AUC on windows 1..K-1 after the last period;
- average: mean AUC on all windows after the last period;
- forgetting: mean over j < K of (AUC on j right after period j) - (AUC on j at the end);
- train s: seconds of training over periods 2..K (period 1 is shared).

Runs with one torch thread by default (`--threads`): on the shared 2-core machines more
threads were slower, and one thread keeps strategies comparable."""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import torch

from trainplat.datasets.training_set import build_training_set
from trainplat.datasets.training_set_file import TrainingSetData, read_training_set
from trainplat.doris.extract import extract
from trainplat.doris.source import SqliteSource
from trainplat.learning.evaluate_windows import window_metrics
from trainplat.learning.holdout import holdout_mask, select_rows
from trainplat.learning.incremental import Hyperparameters, Trained, train_from_scratch, update
from trainplat.learning.plugins import (
    AnyPluginConfig,
    DistillationConfig,
    EwcConfig,
    ReplayConfig,
)
from trainplat.synthetic.generator import SyntheticConfig, generate
from trainplat.tasks.context import TaskContext

START = datetime(2026, 1, 1, tzinfo=UTC)
STRATEGIES = ("joint", "naive", "lwf", "lwf+replay", "lwf+replay+ewc")


def synthetic_stream(
    root: Path, *, windows: int, days: int, entities: int, drift: float, seed: int
) -> list[Path]:
    config = SyntheticConfig(
        start=START, end=START + timedelta(days=windows * days), entities=entities,
        features=12, seed=seed, drift=drift, snapshots_per_entity=12.0 * windows,
        tag_fraction=0.3,
    )  # fmt: skip
    source = root / "doris.sqlite"
    with SqliteSource.create(source) as sink:
        sink.write(generate(config).snapshot_rows())
    paths = []
    for index in range(windows):
        start = START + timedelta(days=index * days)

        def context(name: str, index: int = index) -> TaskContext:
            task_dir = root / f"{name}-{index}"
            task_dir.mkdir()
            return TaskContext(task_dir=task_dir)

        snapshots = extract(
            context("extract"), source=source, start=start, end=start + timedelta(days=days)
        )
        built = build_training_set(
            context("set"), snapshots=Path(str(snapshots.outputs["snapshots"])), history=8
        )
        paths.append(Path(str(built.outputs["training_set"])))
    return paths


def split(path: Path) -> tuple[TrainingSetData, TrainingSetData]:
    data, test = read_training_set(path), holdout_mask(path, 0.25)
    return select_rows(data, ~test), select_rows(data, test)


def auc(trained: Trained, data: TrainingSetData) -> float:
    return window_metrics((trained.model, trained.encoder), data).get("auc", float("nan"))


def run_seed(
    trains: list[TrainingSetData], tests: list[TrainingSetData], seed: int, epochs: int
) -> dict[str, dict[str, float]]:
    architecture = {"d_model": 16, "heads": 4, "layers": 2, "dropout": 0.1}
    scratch = Hyperparameters(epochs=epochs, seed=seed, batch_size=128, learning_rate=3e-3)
    tune = Hyperparameters(epochs=epochs, seed=seed, batch_size=128, learning_rate=1e-3)
    first = train_from_scratch(trains[:1], architecture=architecture, hyper=scratch)
    plugins: dict[str, list[AnyPluginConfig]] = {
        "naive": [],
        "lwf": [DistillationConfig()],
        "lwf+replay": [DistillationConfig(), ReplayConfig(size=1000, seed=seed)],
        "lwf+replay+ewc": [
            DistillationConfig(),
            ReplayConfig(size=1000, seed=seed),
            EwcConfig(lambda_=1000.0, fisher_rows=512),
        ],
    }  # fmt: skip
    results = {}
    for strategy in STRATEGIES:
        current, seconds = first, 0.0
        just_after = [auc(first, tests[0])]
        for k in range(1, len(trains)):
            began = time.perf_counter()
            if strategy == "joint":
                current = train_from_scratch(
                    trains[: k + 1], architecture=architecture, hyper=scratch
                )
            else:
                current = update(
                    current.model, parent_encoder=current.encoder, architecture=architecture,
                    data=trains[k], earlier=trains[:k], plugins=plugins[strategy], hyper=tune,
                )  # fmt: skip
            seconds += time.perf_counter() - began
            just_after.append(auc(current, tests[k]))
        final = [auc(current, test) for test in tests]
        results[strategy] = {
            "newest": final[-1],
            "earlier": statistics.fmean(final[:-1]),
            "average": statistics.fmean(final),
            "forgetting": statistics.fmean(just_after[j] - final[j] for j in range(len(final) - 1)),
            "train_s": seconds,
        }
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--entities", type=int, default=500)
    parser.add_argument("--drift", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    per_seed: list[dict[str, dict[str, float]]] = []
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            paths = synthetic_stream(
                Path(tmp), windows=args.windows, days=args.days, entities=args.entities,
                drift=args.drift, seed=100 + seed,
            )  # fmt: skip
            trains, tests = zip(*(split(p) for p in paths), strict=True)
        per_seed.append(run_seed(list(trains), list(tests), seed, args.epochs))
        print(f"seed {seed} done ({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    print_table(per_seed, args)


def print_table(per_seed: list[dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    def median(strategy: str, key: str) -> float:
        return statistics.median(r[strategy][key] for r in per_seed)

    rows = len(per_seed)
    print(
        f"synthetic stream: {args.windows} windows x {args.days} d, drift {args.drift}, "
        f"{args.entities} entities, {args.epochs} epochs, medians over {rows} seeds"
    )
    header = ("strategy", "newest AUC", "earlier AUC", "average AUC", "forgetting",
              "train s", "avg/JOINT", "time/JOINT")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    joint_avg, joint_time = median("joint", "average"), median("joint", "train_s")
    cell: Callable[[float], str] = "{:.3f}".format
    for strategy in STRATEGIES:
        values = [median(strategy, k) for k in ("newest", "earlier", "average", "forgetting")]
        seconds = median(strategy, "train_s")
        print(
            f"| {strategy} | " + " | ".join(cell(v) for v in values)
            + f" | {seconds:.1f} | {values[2] / joint_avg:.3f} | {seconds / joint_time:.2f} |"
        )  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
