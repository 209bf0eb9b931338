"""The main job against what a user without nasforge would run: Optuna's TPE over a plain CNN.

Two parts, each measured side by side in one run:

1. ``search``: the README's main job (``examples/mnist1d_nb201.yaml``: NAS-Bench-201 cells on
   MNIST-1D, every candidate trained for real) against a hand-written baseline: Optuna's TPE
   (its defaults) over a plain 1-D CNN written in this script (depth 1-4, width 16-128, kernel 3,
   5 or 7, batch norm or not, dropout 0-0.5, AdamW learning rate 1e-4 to 3e-2, weight decay
   1e-6 to 1e-2; 20 epochs, batch 128), on the same data and the same validation split
   (``val_fraction`` 0.1, ``data_seed`` 0). Each gets the same wall time (``--minutes``, a
   trial running at the limit finishes, as in both tools) per search seed (``--seeds``), in this
   process, one trial at a time, with torch's thread setting as the main job leaves it. Reported
   per arm and budget: the test accuracy of the best trial by validation accuracy (mean and
   sample standard deviation over the seeds) and the trials finished.
2. ``threads``: seconds per training epoch of the main job's evaluator on one fixed cell with
   torch intra-op threads 1, 2 and torch's default, idle and while ``--load`` other CPU-bound
   processes (pure-Python loops, one core each) run: what the ``threads`` option buys.

Prints Markdown tables, then one JSON object as its last line.

Usage:
    python benchmarks/main_job.py                      # both parts: 3 and 10 min x seeds 0,1,2
    python benchmarks/main_job.py --part threads       # the thread measurement only (~2 min)
    python benchmarks/main_job.py --minutes 3 --seeds 3,4,5
    python benchmarks/main_job.py --quick              # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import optuna
import torch
from torch import nn

from nasforge.data import load_dataset
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import build_experiment, load_config
from nasforge.spaces import NB201Space

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = ROOT / "examples" / "mnist1d_nb201.yaml"
#: the cell the thread part trains (every operation type once)
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "search", "threads"), default="all")
    parser.add_argument("--minutes", default="3,10", help="search budgets (default 3,10)")
    parser.add_argument("--seeds", default="0,1,2", help="search seeds (default 0,1,2)")
    parser.add_argument("--load", type=int, default=1, help="busy processes when loaded (1)")
    parser.add_argument("--epochs", type=int, default=20, help="baseline epochs (default 20)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    return parser.parse_args(argv)


# ---- the baseline: a plain CNN searched by Optuna's TPE ------------------------------------


def plain_cnn(params: dict[str, Any], channels: int, length: int, classes: int) -> nn.Module:
    """Conv-(BN)-ReLU blocks with a max-pool after every second one, then global average
    pooling, dropout and a linear layer: the network a user writes by hand."""
    layers: list[nn.Module] = []
    width, size = channels, length
    for depth in range(params["depth"]):
        layers.append(nn.Conv1d(width, params["width"], params["kernel"], padding="same"))
        if params["batch_norm"]:
            layers.append(nn.BatchNorm1d(params["width"]))
        layers.append(nn.ReLU())
        if depth % 2 == 1 and size >= 4:
            layers.append(nn.MaxPool1d(2))
            size //= 2
        width = params["width"]
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(params["dropout"])]
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        hits = sum(
            int((model(x[i : i + 1024]).argmax(1) == y[i : i + 1024]).sum())
            for i in range(0, len(y), 1024)
        )
    return 100.0 * hits / len(y)


class Baseline:
    """Optuna's TPE over :func:`plain_cnn`, trained with AdamW and a cosine schedule."""

    def __init__(self, epochs: int) -> None:
        data = load_dataset("mnist1d")
        x_train, y_train, x_val, y_val = data.split_validation(0.1, seed=0)
        as_x, as_y = torch.from_numpy, torch.from_numpy
        self.x_train, self.y_train = as_x(x_train), as_y(y_train)
        self.x_val, self.y_val = as_x(x_val), as_y(y_val)
        self.x_test, self.y_test = as_x(data.x_test), as_y(data.y_test)
        self.channels, self.length = x_train.shape[1], x_train.shape[2]
        self.classes = data.num_classes
        self.epochs = epochs

    def train(self, params: dict[str, Any], seed: int) -> tuple[float, float]:
        """``(val_acc, test_acc)`` of the network ``params`` describes."""
        torch.manual_seed(seed)
        model = plain_cnn(params, self.channels, self.length, self.classes)
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"]
        )
        steps = self.epochs * math.ceil(len(self.y_train) / 128)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
        order = torch.Generator().manual_seed(seed)
        for _ in range(self.epochs):
            model.train()
            perm = torch.randperm(len(self.y_train), generator=order)
            for start in range(0, len(perm), 128):
                batch = perm[start : start + 128]
                loss = nn.functional.cross_entropy(model(self.x_train[batch]), self.y_train[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        return accuracy(model, self.x_val, self.y_val), accuracy(model, self.x_test, self.y_test)

    def search(self, seed: int, seconds: float) -> dict[str, Any]:
        tests: dict[int, float] = {}

        def objective(trial: optuna.Trial) -> float:
            params = {
                "depth": trial.suggest_int("depth", 1, 4),
                "width": trial.suggest_int("width", 16, 128, log=True),
                "kernel": trial.suggest_categorical("kernel", [3, 5, 7]),
                "batch_norm": trial.suggest_categorical("batch_norm", [True, False]),
                "dropout": trial.suggest_float("dropout", 0.0, 0.5),
                "lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
                "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            }
            val_acc, tests[trial.number] = self.train(params, seed * 100_000 + trial.number)
            return val_acc

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(objective, timeout=seconds)
        best = study.best_trial
        return {"test_acc": tests[best.number], "val_acc": best.value, "trials": len(tests)}


# ---- the main job --------------------------------------------------------------------------


def main_job(seed: int, seconds: float, folder: Path, quick: bool) -> dict[str, Any]:
    """The README's main job with ``seed`` for ``seconds`` (its YAML otherwise unchanged)."""
    config = load_config(MAIN_JOB)
    updates: dict[str, Any] = {
        "seed": seed,
        "storage": f"sqlite:///{folder / f'main-{seed}-{seconds:g}.db'}",
    }
    if quick:
        evaluator = config.evaluator.model_copy(
            update={"options": {**config.evaluator.options, "epochs": 1}}
        )
        updates["evaluator"] = evaluator
    experiment = build_experiment(config.model_copy(update=updates))
    experiment.run(max_trials=100_000, max_time=seconds, progress=False)
    best = experiment.best()
    trials = [t for t in experiment.trials() if t.status.value == "complete"]
    if best is None:
        return {"test_acc": None, "val_acc": None, "trials": len(trials)}
    return {
        "test_acc": float(best.metrics["test_acc"]),
        "val_acc": float(best.metrics["val_acc"]),
        "trials": len(trials),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    tests = [r["test_acc"] for r in runs if r["test_acc"] is not None]
    return {
        "test_acc_mean": round(statistics.fmean(tests), 2) if tests else None,
        "test_acc_std": round(statistics.stdev(tests), 2) if len(tests) > 1 else None,
        "trials_mean": round(statistics.fmean(r["trials"] for r in runs), 1),
        "runs": runs,
    }


def search_part(args: argparse.Namespace, seeds: list[int], minutes: list[float]) -> dict:
    baseline = Baseline(1 if args.quick else args.epochs)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for budget in minutes:
            seconds = budget * 60
            arms: dict[str, list[dict[str, Any]]] = {"nasforge": [], "optuna_tpe": []}
            for seed in seeds:
                arms["nasforge"].append(main_job(seed, seconds, Path(tmp), args.quick))
                arms["optuna_tpe"].append(baseline.search(seed, seconds))
                print(
                    f"{budget:g} min seed {seed}: nasforge {arms['nasforge'][-1]} | "
                    f"optuna {arms['optuna_tpe'][-1]}",
                    flush=True,
                )
            out[f"{budget:g}min"] = {arm: summarise(runs) for arm, runs in arms.items()}
    print("\n| budget | arm | test acc of best by val (mean ± std) | trials |")
    print("|---|---|---|---|")
    for budget, arms_summary in out.items():
        for arm, s in arms_summary.items():
            std = f" ± {s['test_acc_std']:.2f}" if s["test_acc_std"] is not None else ""
            mean = f"{s['test_acc_mean']:.2f}" if s["test_acc_mean"] is not None else "-"
            print(f"| {budget} | {arm} | {mean}{std} | {s['trials_mean']:g} |")
    return out


# ---- threads -------------------------------------------------------------------------------


def _busy() -> None:  # pragma: no cover - runs in a child process until terminated
    while True:
        pass


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` other CPU-bound processes running for the duration of the block."""
    # fork: a pure-Python loop needs nothing re-imported (spawn would import torch again)
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    workers = [context.Process(target=_busy, daemon=True) for _ in range(count)]
    for worker in workers:
        worker.start()
    time.sleep(0.5 if count else 0.0)
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


def epoch_seconds(threads: int | None, epochs: int, quick: bool) -> float:
    """Seconds per epoch of the main job's evaluator training :data:`CELL` (data loading and
    the first epoch's warm-up excluded: one epoch is trained first and not timed)."""
    options: dict[str, Any] = {"epochs": epochs, "threads": threads, "device": "cpu"}
    if quick:
        options["train_fraction"] = 0.05
    evaluator = TrainEvaluator("mnist1d", **options)
    space = NB201Space(n_cells=1, channels=16)
    arch = space.parse(CELL)
    evaluator.fit(arch, space, seed=0, epochs=1)
    start = time.perf_counter()
    evaluator.fit(arch, space, seed=0)
    return (time.perf_counter() - start) / epochs


def threads_part(args: argparse.Namespace) -> dict[str, Any]:
    epochs = 1 if args.quick else 3
    settings: dict[str, int | None] = {"1": 1, "2": 2, "default": None}
    if args.quick:
        settings = {"1": 1, "default": None}
    rows: dict[str, dict[str, float]] = {}
    for load in (0, args.load):
        with busy_processes(load):
            for label, threads in settings.items():
                seconds = epoch_seconds(threads, epochs, args.quick)
                rows.setdefault(label, {})["loaded" if load else "idle"] = round(seconds, 3)
    for row in rows.values():
        row["slowdown"] = round(row["loaded"] / row["idle"], 2)
    print(f"\nthreads (torch default here: {torch.get_num_threads()}), seconds per epoch:")
    print("| threads | idle | loaded | loaded / idle |")
    print("|---|---|---|---|")
    for label, row in rows.items():
        print(f"| {label} | {row['idle']:.2f} | {row['loaded']:.2f} | {row['slowdown']:.2f}x |")
    return {"torch_default_threads": torch.get_num_threads(), "load": args.load, **rows}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    minutes = [0.02] if args.quick else [float(m) for m in args.minutes.split(",")]
    result: dict[str, Any] = {"machine_cores": multiprocessing.cpu_count()}
    if args.part in ("all", "threads"):
        result["threads"] = threads_part(args)
    if args.part in ("all", "search"):
        result["search"] = search_part(args, seeds, minutes)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
