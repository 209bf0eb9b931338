"""Early-stopping schedulers on MNIST-1D: accuracy kept against training epochs saved.

Runs the same regularized-evolution search (NAS-Bench-201 cell, N=1, C=16, 20 epochs of SGD per
full trial, as ``examples/mnist1d_nb201.yaml``) once without early stopping and once with each
scheduler, for each seed, and reports per scheduler the test accuracy of the best-by-``val_acc``
complete trial (mean over seeds), the training epochs spent and the wall time. The
learning-curve scheduler's predictor accuracy (R² and Spearman on the next trials) is printed
as it learns. The last line is one JSON object::

    {"none": {"best_test_acc": ..., "epochs": ..., "wall_s": ...}, "asha": {...}, ...}

Each (scheduler, seed) result is appended to ``--results`` (JSON lines) as soon as it is done
and read back on the next call, so a long run can be split over several calls or processes.

Usage:
    python benchmarks/early_stopping.py                       # 60 trials x 20 epochs, seed 0
    python benchmarks/early_stopping.py --seeds 0 1 2 --schedulers none asha
    python benchmarks/early_stopping.py --schedulers none learning-curve@delta=0.2   # a variant
    python benchmarks/early_stopping.py --hyperparameters lr  # the learning rate searched too
    python benchmarks/early_stopping.py --quick               # digits, 4 trials x 2 epochs
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_SCHEDULERS = ("none", "asha", "learning-curve", "median", "hyperband")
#: options per scheduler for the 20-epoch MNIST-1D search
SCHEDULER_OPTIONS: dict[str, dict[str, Any]] = {
    "asha": {"min_step": 1, "reduction_factor": 3},
    "hyperband": {"min_step": 1, "reduction_factor": 3},
    "median": {"warmup_steps": 2, "min_trials": 5},
    "learning-curve": {"min_trials": 10, "delta": 0.2},  # chosen on seed 0 (BENCHMARKS.md)
}
QUICK_OPTIONS: dict[str, dict[str, Any]] = {
    "learning-curve": {"min_trials": 2, "delta": 0.05},
    "median": {"warmup_steps": 0, "min_trials": 1},
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedulers", nargs="+", default=list(DEFAULT_SCHEDULERS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--trials", type=int, default=60, help="trials per search (default 60)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of a full trial")
    parser.add_argument("--dataset", default="mnist1d")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument(
        "--hyperparameters",
        nargs="*",
        default=[],
        help="searched with the cell, e.g. lr (the learning rate, 1e-3..0.5 log scale)",
    )
    parser.add_argument("--results", type=Path, default=None, help="JSON-lines cache of runs")
    parser.add_argument(
        "--storage", type=Path, default=None, help="folder for one SQLite store per run (curves)"
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="PNG of best-so-far test_acc against epochs trained (needs --storage)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: digits, 4 x 2 epochs")
    parser.add_argument("--progress", action="store_true", help="progress bar on stderr")
    args = parser.parse_args(argv)
    args.schedulers = split_schedulers(args.schedulers)
    if args.plot is not None and args.storage is None:
        parser.error("--plot reads the runs' curves from their stores; give --storage DIR")
    if args.quick:
        args.trials, args.epochs, args.dataset, args.channels = 4, 2, "digits", 8
    return args


def split_schedulers(items: Sequence[str]) -> list[str]:
    """``["none,asha", "learning-curve@delta=0.2,min_trials=5"]`` -> one name per scheduler.

    A comma separates schedulers, except inside a variant's options: a part with ``=`` and no
    ``@`` continues the variant before it.
    """
    names: list[str] = []
    for part in (p for item in items for p in item.split(",") if p):
        if "=" in part and "@" not in part and names and "@" in names[-1]:
            names[-1] += "," + part
        else:
            names.append(part)
    return names


def parse_variant(name: str) -> tuple[str, dict[str, Any]]:
    """``"learning-curve@delta=0.2,min_trials=5"`` -> the scheduler and its option overrides."""
    base, _, rest = name.partition("@")
    overrides: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return base, overrides


def store_label(
    scheduler: str, options: Mapping[str, Any], hyperparameters: Sequence[str] = ()
) -> str:
    """The name of a run's store in ``--storage`` (without ``-SEED.db``)."""
    label = scheduler + "".join(f"-{k}={v}" for k, v in sorted(options.items()))
    return label + "".join(f"+{h}" for h in hyperparameters)


def scheduler_options(name: str, quick: bool = False) -> tuple[str, dict[str, Any]]:
    """The scheduler of a ``--schedulers`` name and its options for this benchmark."""
    base, overrides = parse_variant(name)
    options = {**SCHEDULER_OPTIONS.get(base, {})}
    if quick:
        options.update(QUICK_OPTIONS.get(base, {}))
    options.update(overrides)
    return base, options


def told_order(trials: Sequence[Any]) -> list[Any]:
    """``trials`` in the order the strategy was told them (as a resume replays them)."""
    return sorted(trials, key=lambda t: (t.tell_seq is None, t.tell_seq or 0, t.number))


def search_space(channels: int = 16, hyperparameters: Sequence[str] = ()) -> Any:
    """The searched space: the NB201 cell (N=1) with the hyperparameters searched too."""
    from nasforge.spaces import NB201Space

    return NB201Space(n_cells=1, channels=channels, hyperparameters=tuple(hyperparameters))


def best_so_far(trials: Sequence[Any]) -> list[tuple[int, float]]:
    """``(epochs trained so far, test_acc of the best-by-val_acc complete trial)`` per trial.

    Trials in the order the strategy was told them; a trial counts the epochs it reported.
    """
    from nasforge.trial import TrialStatus

    points, epochs, best = [], 0, None
    for t in told_order(trials):
        epochs += len(t.intermediate)
        better = best is None or t.metrics.get("val_acc", -math.inf) > best[0]
        if t.status == TrialStatus.COMPLETE and "val_acc" in t.metrics and better:
            best = (t.metrics["val_acc"], t.metrics.get("test_acc", math.nan))
        if best is not None:
            points.append((epochs, best[1]))
    return points


def plot_runs(args: argparse.Namespace, path: Path) -> list[str]:
    """Best-so-far test accuracy against epochs trained, one panel per seed; from the stores
    in ``--storage``. Returns the stores it could not find."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasforge.storage import Storage

    missing = []
    fig, axes = plt.subplots(
        1, len(args.seeds), figsize=(4.2 * len(args.seeds), 3.6), sharey=True, squeeze=False
    )
    for ax, seed in zip(axes[0], args.seeds, strict=True):
        for i, name in enumerate(args.schedulers):
            base, options = scheduler_options(name, args.quick)
            label = store_label(base, options, args.hyperparameters)
            db = args.storage / f"{label}-{seed}.db"
            if not db.exists():
                missing.append(str(db))
                continue
            store = Storage(db, read_only=True)
            (record,) = store.list_experiments()
            points = best_so_far(store.trials(record.id))
            width = 3.0 if i == 0 else 1.5  # the first (none) drawn wide: others overlap it
            ax.step(*zip(*points, strict=True), where="post", label=name, lw=width, alpha=0.8)
        ax.set_title(f"seed {seed}")
        ax.set_xlabel("epochs trained")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test_acc of the best-by-val trial (%)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return missing


def run_search(
    scheduler: str,
    seed: int,
    trials: int,
    epochs: int,
    dataset: str,
    channels: int,
    options: Mapping[str, Any],
    progress: bool = False,
    storage: Path | None = None,
    hyperparameters: Sequence[str] = (),
) -> dict[str, Any]:
    """One search; returns the best trial's test accuracy, the epochs spent and the wall time."""
    import torch

    label = store_label(scheduler, options, hyperparameters)

    from nasforge import Experiment
    from nasforge.estimation.train import TrainEvaluator

    torch.set_num_threads(1)
    kwargs: dict[str, Any] = {}
    if scheduler != "none":
        kwargs = {"scheduler": scheduler, "scheduler_options": dict(options)}
    exp = Experiment(
        search_space(channels, hyperparameters),
        strategy="regularized-evolution",
        evaluator=TrainEvaluator(dataset, epochs=epochs, threads=1),
        objectives={"val_acc": "max"},
        storage="sqlite:///:memory:" if storage is None else storage / f"{label}-{seed}.db",
        name=f"early-stopping-{scheduler}-{seed}",
        seed=seed,
        strategy_options={"population_size": 10, "sample_size": 3},
        device="cpu",
        **kwargs,
    )
    start = time.monotonic()
    exp.run(max_trials=trials, progress=progress)
    wall = time.monotonic() - start
    stored = exp.trials()
    best = exp.best()
    result: dict[str, Any] = {
        "scheduler": scheduler,
        "seed": seed,
        "trials": trials,
        "full_epochs": epochs,
        "dataset": dataset,
        "hyperparameters": list(hyperparameters),
        "best_test_acc": None if best is None else best.metrics.get("test_acc"),
        "best_val_acc": None if best is None else best.metrics.get("val_acc"),
        "epochs": sum(len(t.intermediate) for t in stored),
        "pruned": sum(t.status.value == "pruned" for t in stored),
        "wall_s": round(wall, 1),
    }
    accuracy = getattr(getattr(exp, "scheduler_", None), "accuracy_", None)
    if accuracy:
        result["predictor_accuracy"] = [dict(row) for row in accuracy]
    return result


def _load(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarise(runs: Sequence[Mapping[str, Any]], schedulers: Sequence[str]) -> dict[str, Any]:
    """Mean over seeds of each scheduler's best test accuracy, epochs and wall time."""
    out: dict[str, Any] = {}
    for name in schedulers:
        mine = [r for r in runs if r["scheduler"] == name and r["best_test_acc"] is not None]
        if not mine:
            continue
        out[name] = {
            "best_test_acc": round(statistics.fmean(r["best_test_acc"] for r in mine), 2),
            "epochs": round(statistics.fmean(r["epochs"] for r in mine), 1),
            "wall_s": round(statistics.fmean(r["wall_s"] for r in mine), 1),
            "pruned": round(statistics.fmean(r["pruned"] for r in mine), 1),
            "seeds": [r["seed"] for r in mine],
        }
    return out


def report_lines(runs: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[str]:
    lines = []
    for r in runs:
        lines.append(
            f"{r['scheduler']:<15} seed {r['seed']}: best test_acc {r['best_test_acc']:.2f} "
            f"(val {r['best_val_acc']:.2f}), {r['epochs']} epochs, {r['pruned']} pruned, "
            f"{r['wall_s']:.0f} s"
        )
        for row in r.get("predictor_accuracy", []):
            lines.append(
                f"    predictor ({row.get('kind', 'next')}) trained on {row['trained_on']} "
                f"curves, step {row['step']}: "
                f"R² {_num(row['r2'])}, Spearman {_num(row['spearman'])}, "
                f"RMSE {_num(row.get('rmse'))} on {row['n']} trials"
            )
    base = summary.get("none")
    for name, cell in summary.items():
        line = f"{name:<15} best test_acc {cell['best_test_acc']:.2f}  epochs {cell['epochs']:.0f}"
        if base is not None and name != "none":
            line += (
                f"  ({cell['epochs'] / base['epochs']:.0%} of the epochs, "
                f"{cell['best_test_acc'] - base['best_test_acc']:+.2f} points)"
            )
        lines.append(line + f"  wall {cell['wall_s']:.0f} s")
    return lines


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    runs = [
        r
        for r in _load(args.results)
        if r["trials"] == args.trials
        and r["full_epochs"] == args.epochs
        and r.get("dataset") == args.dataset
        and r.get("hyperparameters", []) == list(args.hyperparameters)
    ]
    for seed in args.seeds:
        for name in args.schedulers:
            if any(r["scheduler"] == name and r["seed"] == seed for r in runs):
                continue
            base, options = scheduler_options(name, args.quick)
            result = run_search(
                base,
                seed,
                args.trials,
                args.epochs,
                args.dataset,
                args.channels,
                options,
                args.progress,
                args.storage,
                args.hyperparameters,
            )
            result["scheduler"] = name  # the variant's label, options included
            runs.append(result)
            if args.results is not None:
                with args.results.open("a") as f:
                    f.write(json.dumps(result) + "\n")
            print(json.dumps({k: v for k, v in result.items() if k != "predictor_accuracy"}))
            sys.stdout.flush()
    runs = [r for r in runs if r["seed"] in args.seeds and r["scheduler"] in args.schedulers]
    summary = summarise(runs, args.schedulers)
    for line in report_lines(runs, summary):
        print(line)
    if args.plot is not None:
        for missing in plot_runs(args, args.plot):
            print(f"not plotted (no store): {missing}")
        print(f"plot written to {args.plot}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
