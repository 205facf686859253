"""Incremental learning benchmark: JOINT (full retrain on every period so far) vs NAIVE
fine-tune vs LwF vs LwF+replay (half a batch of remembered rows per step, the package
default, or a full batch) [vs LwF+replay+EWC with --ewc], side by side on two streams with
drift, in one run:

    cd python && ../.venv/bin/python ../benchmarks/incremental/run.py          # 2-3 min, 2 cores
    cd python && ../.venv/bin/python ../benchmarks/incremental/run.py --long   # more seeds, K=8

Streams (each period goes through the real `doris.extract` and `datasets.training_set`
tasks, history 8; 25 % of each period's entities are held out as its test set,
`trainplat.learning.holdout`):

- synthetic: the generator (`trainplat.synthetic`, drift model in `synthetic/world.py`) over
  `--windows` weekly periods with `--drift`: feature means shift, new categorical values
  appear and the label rule rotates from one sparse rule to an unrelated one; with
  `--recurring` the periods alternate between the start and the end world instead (abrupt,
  recurring drift: the rule of period 1 returns in period 3, 5, ...);
- gapminder: 142 countries every 5 years 1952-2007, shipped inside the plotly wheel
  (`gapminder.py` says what it is, its licence and how labels are derived), in
  `--gapminder-windows` periods.

Period 1 trains one model from scratch that every strategy starts from; each later period
trains each strategy once, with the same batch size (128) and seed. JOINT and NAIVE train
`--epochs` epochs (from scratch at 3e-3, fine-tuning at 1e-3). Our updates (LwF, LwF+replay)
run the update schedule of the package: half those epochs, rounded up, at
`learning.incremental_update`'s default learning rate (`Hyperparameters()`); "naive (update
schedule)" is naive fine-tuning on that schedule, which tells the schedule's part of the
gain from the plugins'. Reported as medians over `--seeds` seeds (model initialisation and
batch order; the data is fixed per seed for synthetic, fixed for gapminder), AUC on
held-out rows, `a[l][j]` = AUC on period j after training on period l:

- newest: a[K][K]; earlier: mean over j < K of a[K][j]; average: mean over j of a[K][j];
  avg acc: the same average for accuracy (threshold 0.5);
- forgetting (Chaudhry et al. 2018): mean over j < K of max_{j <= l < K} a[l][j] - a[K][j]
  (positive = forgotten);
- train s: seconds of training over periods 2..K (period 1 is shared), wall clock;
- CPU s: the CPU seconds of this process over the same spans (`time.process_time`): with
  one torch thread on the CPU, the work itself, which other programs on a shared machine
  do not stretch as they stretch the wall clock; on a GPU it leaves out the GPU's time, so
  read train s there;
- windows/s: training throughput, history windows (training-set rows) of the data each
  strategy trains on, times epochs, per second of training (replayed rows not counted).

One torch thread by default (`--threads`): on the shared 2-core machines more threads were
slower, and one thread keeps strategies comparable. `--device` as the learning tasks'
`device` argument (`auto`: the GPU when there is one); every table names the device."""

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import torch
from gapminder import gapminder_rows, period_bounds

from trainplat.datasets.training_set import build_training_set
from trainplat.datasets.training_set_file import TrainingSetData, read_training_set
from trainplat.doris.extract import extract
from trainplat.doris.schema import SnapshotRow
from trainplat.doris.source import SqliteSource
from trainplat.learning.device import check_device, resolve_device
from trainplat.learning.holdout import holdout_mask, select_rows
from trainplat.learning.incremental import Hyperparameters, Trained, train_from_scratch, update
from trainplat.learning.plugins import (
    AnyPluginConfig,
    DistillationConfig,
    EwcConfig,
    ReplayConfig,
)
from trainplat.learning.scoring import score
from trainplat.synthetic.generator import SyntheticConfig, generate
from trainplat.tasks.context import TaskContext

START = datetime(2026, 1, 1, tzinfo=UTC)
ARCHITECTURE: dict[str, Any] = {"d_model": 16, "heads": 4, "layers": 2, "dropout": 0.1}
Bounds = list[tuple[datetime, datetime]]


def extract_periods(root: Path, rows: list[SnapshotRow], bounds: Bounds) -> list[Path]:
    """The training set of each period, through the real extract and training-set tasks."""
    source = root / "doris.sqlite"
    with SqliteSource.create(source) as sink:
        sink.write(rows)
    paths = []
    for index, (start, end) in enumerate(bounds):

        def context(name: str, index: int = index) -> TaskContext:
            task_dir = root / f"{name}-{index}"
            task_dir.mkdir()
            return TaskContext(task_dir=task_dir)

        snapshots = extract(context("extract"), source=source, start=start, end=end)
        built = build_training_set(
            context("set"), snapshots=Path(str(snapshots.outputs["snapshots"])), history=8
        )
        paths.append(Path(str(built.outputs["training_set"])))
    return paths


def synthetic_periods(root: Path, args: argparse.Namespace, seed: int) -> list[Path]:
    config = SyntheticConfig(
        start=START, end=START + timedelta(days=args.windows * args.days),
        entities=args.entities, features=12, seed=seed, drift=args.drift,
        recurring=args.windows if args.recurring else 0,
        snapshots_per_entity=12.0 * args.windows, tag_fraction=0.3,
    )  # fmt: skip
    bounds = [
        (START + timedelta(days=i * args.days), START + timedelta(days=(i + 1) * args.days))
        for i in range(args.windows)
    ]
    return extract_periods(root, list(generate(config).snapshot_rows()), bounds)


def split(path: Path) -> tuple[TrainingSetData, TrainingSetData]:
    data, test = read_training_set(path), holdout_mask(path, 0.25)
    return select_rows(data, ~test), select_rows(data, test)


@dataclass(frozen=True)
class Strategy:
    plugins: list[AnyPluginConfig] | None  # None: JOINT, a fresh model on every period so far
    hyper: Hyperparameters


def update_epochs(epochs: int) -> int:
    """Our updates' epochs when a from-scratch training gets `epochs`: they start from a
    trained parent (the package's defaults: learning.train 3, learning.incremental_update 2)."""
    return math.ceil(epochs / 2)


def strategies(seed: int, epochs: int, args: argparse.Namespace) -> dict[str, Strategy]:
    scratch = Hyperparameters(epochs=epochs, seed=seed, batch_size=128, learning_rate=3e-3)
    baseline = Hyperparameters(epochs=epochs, seed=seed, batch_size=128, learning_rate=1e-3)
    ours = Hyperparameters(
        epochs=update_epochs(epochs), seed=seed, batch_size=128,
        learning_rate=Hyperparameters().learning_rate,
    )  # fmt: skip
    replay = ReplayConfig(size=args.replay_size, seed=seed)
    chosen = {
        "joint": Strategy(None, scratch),
        "naive": Strategy([], baseline),
        "naive (update schedule)": Strategy([], ours),
        "lwf": Strategy([DistillationConfig()], ours),
        "lwf+replay": Strategy([DistillationConfig(), replay], ours),
        "lwf+replay, full batch": Strategy(
            [DistillationConfig(), replay.model_copy(update={"batch_fraction": 1.0})], ours
        ),
    }
    if args.ewc:
        ewc = EwcConfig(lambda_=1000.0, fisher_rows=512, seed=seed)
        chosen["lwf+replay+ewc"] = Strategy([DistillationConfig(), replay, ewc], ours)
    return chosen


def scores(trained: Trained, test: TrainingSetData) -> tuple[float, float]:
    metrics = score(trained.model, trained.encoder, test)
    return metrics.get("auc", float("nan")), metrics["accuracy"]


def run_seed(
    trains: list[TrainingSetData],
    tests: list[TrainingSetData],
    seed: int,
    epochs: int,
    args: argparse.Namespace,
) -> dict[str, dict[str, float]]:
    device = resolve_device(args.device)
    chosen = strategies(seed, epochs, args)
    first = train_from_scratch(
        trains[:1], architecture=ARCHITECTURE, hyper=chosen["joint"].hyper, device=device
    )
    results = {}
    for name, strategy in chosen.items():
        plugins, hyper = strategy.plugins, strategy.hyper
        current, seconds, cpu_seconds, rows = first, 0.0, 0.0, 0
        auc = [[scores(first, tests[0])[0]]]  # auc[l][j]: after period l, on period j <= l
        for k in range(1, len(trains)):
            began, began_cpu = time.perf_counter(), time.process_time()
            if plugins is None:
                current = train_from_scratch(
                    trains[: k + 1], architecture=ARCHITECTURE, hyper=hyper, device=device
                )
                rows += sum(t.rows for t in trains[: k + 1]) * hyper.epochs
            else:
                current = update(
                    current.model, parent_encoder=current.encoder, architecture=ARCHITECTURE,
                    data=trains[k], earlier=trains[:k], plugins=plugins, hyper=hyper,
                    device=device,
                )  # fmt: skip
                rows += trains[k].rows * hyper.epochs
            seconds += time.perf_counter() - began
            cpu_seconds += time.process_time() - began_cpu
            auc.append([scores(current, tests[j])[0] for j in range(k + 1)])
        final, accuracy = auc[-1], [scores(current, test)[1] for test in tests]
        last = len(trains) - 1
        results[name] = {
            "newest": final[-1],
            "earlier": statistics.fmean(final[:-1]),
            "average": statistics.fmean(final),
            "accuracy": statistics.fmean(accuracy),
            "forgetting": statistics.fmean(
                max(auc[after][j] for after in range(j, last)) - final[j] for j in range(last)
            ),
            "train_s": seconds,
            "cpu_s": cpu_seconds,
            "windows_per_s": rows / seconds,
        }
    return results


def run_stream(
    name: str, make: Callable[[Path, int], list[Path]], epochs: int, args: argparse.Namespace
) -> None:
    began = time.perf_counter()
    per_seed: list[dict[str, dict[str, float]]] = []
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            trains, tests = zip(*(split(p) for p in make(Path(tmp), 100 + seed)), strict=True)
        per_seed.append(run_seed(list(trains), list(tests), seed, epochs, args))
        print(f"{name}: seed {seed} done ({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    sizes = ", ".join(str(t.rows) for t in trains)
    print(f"\n{name}: {len(trains)} periods (training rows {sizes}), {epochs} epochs "
          f"({update_epochs(epochs)} for our updates), "
          f"medians over {args.seeds} seeds, device {describe_device(args.device)}, "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    print_table(per_seed)


def device_argument(name: str) -> str:
    try:
        return check_device(name)
    except ValueError as error:  # argparse shows only this exception's message
        raise argparse.ArgumentTypeError(str(error)) from error


def describe_device(name: str) -> str:
    """The device `name` resolves to here, with the GPU's model or the CPU's torch threads."""
    device = resolve_device(name)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} torch thread(s))"


def print_table(per_seed: list[dict[str, dict[str, float]]]) -> None:
    def median(strategy: str, key: str) -> float:
        return statistics.median(r[strategy][key] for r in per_seed)

    header = ("strategy", "newest AUC", "earlier AUC", "average AUC", "avg acc", "forgetting",
              "train s", "windows/s", "avg/JOINT", "time/JOINT", "CPU s", "CPU/JOINT")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    joint_avg, joint_time = median("joint", "average"), median("joint", "train_s")
    joint_cpu = median("joint", "cpu_s")
    for strategy in per_seed[0]:
        values = [median(strategy, k) for k in ("newest", "earlier", "average", "accuracy")]
        seconds, cpu_seconds = median(strategy, "train_s"), median(strategy, "cpu_s")
        print(
            f"| {strategy} | " + " | ".join(f"{v:.3f}" for v in values)
            + f" | {median(strategy, 'forgetting'):+.3f} | {seconds:.1f}"
            + f" | {median(strategy, 'windows_per_s'):.0f}"
            + f" | {values[2] / joint_avg:.3f} | {seconds / joint_time:.2f}"
            + f" | {cpu_seconds:.1f} | {cpu_seconds / joint_cpu:.2f} |"
        )  # fmt: skip


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="5 seeds, K=8, 1000 entities")
    parser.add_argument("--stream", choices=("both", "synthetic", "gapminder"), default="both")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--entities", type=int, default=400)
    parser.add_argument("--drift", type=float, default=1.0)
    parser.add_argument(
        "--recurring", action="store_true",
        help="synthetic periods alternate between the start and the end world (abrupt drift)",
    )  # fmt: skip
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--gapminder-windows", type=int, default=4)
    parser.add_argument("--gapminder-epochs", type=int, default=10)
    parser.add_argument("--replay-size", type=int, default=ReplayConfig().size)
    parser.add_argument("--ewc", action="store_true", help="also LwF+replay+EWC (lambda 1000)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--device", type=device_argument, default="auto",
        help="auto (the GPU when there is one), cpu, cuda or cuda:N",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.long:
        args.seeds, args.windows, args.entities = 5, 8, 1000
    torch.set_num_threads(args.threads)
    if args.stream in ("both", "synthetic"):
        run_stream(
            f"synthetic ({'recurring ' if args.recurring else ''}drift {args.drift}, "
            f"{args.entities} entities, {args.days}-day periods)",
            lambda root, seed: synthetic_periods(root, args, seed), args.epochs, args,
        )  # fmt: skip
    if args.stream in ("both", "gapminder"):
        bounds = period_bounds(args.gapminder_windows)
        run_stream(
            "gapminder (142 countries, 1952-2007)",
            lambda root, _seed: extract_periods(root, gapminder_rows(), bounds),
            args.gapminder_epochs, args,
        )  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
