"""Does searching a space beat sampling it? Regularized evolution against random archs, per space.

For each space: 60 trials of regularized evolution (population 10, tournament 3) and the mean
of 60 random archs of the same space, each arch trained for real on MNIST-1D (``TrainEvaluator``,
``--epochs`` epochs, one thread per worker, CPU), small network sizes so a trial takes seconds.
Reported per space: the test accuracy of regularized evolution's best-by-validation trial
(``rea_best_test_acc``), the mean test accuracy of the random archs (``random_mean_test_acc``)
and of their best-by-validation one, and seconds per trial. Both searches use one seed
(``--seed``); each runs into its own store in a temporary folder.

    python benchmarks/spaces.py                                   # chain, mobile, inception, darts
    python benchmarks/spaces.py --spaces nb201,pytorch --trials 30 --epochs 5
    python benchmarks/spaces.py --quick                           # smoke run: 3 trials, 1 epoch

The last line is one JSON object ``{"<space>": {"rea_best_test_acc": ..., "random_mean_test_acc":
..., "random_best_test_acc": ..., "s_per_trial": ..., "trials": ...}, ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: the spaces of the literature the issue asks about, with small network sizes
DEFAULT_SPACES = ("chain", "mobile", "inception", "darts")
#: size options per space that keep a trial to seconds on a CPU (a space not listed: its own)
SMALL: dict[str, dict[str, int]] = {
    "nb201": {"n_cells": 1, "channels": 8},
    "darts": {"n_cells": 3, "channels": 8},
    "pytorch": {"channels": 8},
}


def _space(name: str) -> Any:
    from nasforge.spaces import create_space

    return create_space(name)


def _best_by_val(trials: list[Any]) -> Any:
    done = [t for t in trials if t.metrics.get("val_acc") is not None]
    return max(done, key=lambda t: (t.metrics["val_acc"], -t.number)) if done else None


def run_space(name: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    import nasforge as nf
    from nasforge.estimation.train import TrainEvaluator

    space = _space(name)
    sizes = {k: v for k, v in SMALL.get(name, {}).items() if k in space.size_options}
    fidelity: dict[str, Any] = dict(sizes)
    results: dict[str, list[Any]] = {}
    started = time.perf_counter()
    for strategy, options in (
        ("regularized-evolution", {"population_size": 10, "sample_size": 3}),
        ("random", {}),
    ):
        evaluator = TrainEvaluator(
            args.dataset, epochs=args.epochs, threads=1, device="cpu", batch_size=128
        )
        exp = nf.Experiment(
            space,
            strategy=strategy,
            strategy_options=options,
            evaluator=evaluator,
            fidelity=fidelity,
            storage=folder / f"{name}-{strategy}.db",
            name=f"{name}-{strategy}",
            seed=args.seed,
        )
        exp.run(
            max_trials=args.trials,
            progress=False,
            executor="processes" if args.workers > 1 else "local",
            workers=args.workers,
        )
        results[strategy] = exp.trials("complete")
    seconds = time.perf_counter() - started
    rea, rand = results["regularized-evolution"], results["random"]
    best_rea, best_rand = _best_by_val(rea), _best_by_val(rand)
    row = {
        "rea_best_test_acc": round(best_rea.metrics["test_acc"], 2) if best_rea else None,
        "random_mean_test_acc": round(float(np.mean([t.metrics["test_acc"] for t in rand])), 2)
        if rand
        else None,
        "random_best_test_acc": round(best_rand.metrics["test_acc"], 2) if best_rand else None,
        "s_per_trial": round(seconds / max(1, len(rea) + len(rand)) * args.workers, 2),
        "trials": len(rea) + len(rand),
        "sizes": sizes,
    }
    print(f"{name:10s} {row}", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default=",".join(DEFAULT_SPACES), help="registered spaces")
    parser.add_argument("--trials", type=int, default=60, help="trials per search (60)")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs per trial (5)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--dataset", default="mnist1d", help="built-in dataset (mnist1d)")
    parser.add_argument("--seed", type=int, default=0, help="search seed")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 trials, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs, args.workers = 3, 1, 1
    from nasforge.spaces import list_spaces

    names = [n for n in args.spaces.split(",") if n]
    unknown = [n for n in names if n not in list_spaces()]
    if unknown:
        parser.error(f"--spaces: unknown {unknown[0]!r}; allowed: {', '.join(list_spaces())}")
    warnings.simplefilter("ignore")  # per-trial warnings would bury the table
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nasforge-spaces-") as folder:
        for name in names:
            result[name] = run_space(name, args, Path(folder))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
