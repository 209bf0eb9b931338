"""How well a path-trained supernet ranks architectures, against how well training alone ranks
them: Kendall's tau of the supernet's estimates, with and without batch-norm recalibration,
next to the tau between two standalone trainings of the same archs (the noise ceiling).

One search of ``--method`` (``random-one-shot`` or ``enas``) on ``--space`` trains the supernet
(``--epochs`` epochs, no honesty report). ``--archs`` archs sampled from the space (the same ones
the method's report pool starts from) are then scored by the trained supernet twice: with the
running averages the search left, which mix every path trained (the default), and each path
with its own batch-norm statistics (``bn_recalibrate: true``: the batch norms that keep running
statistics recompute them on 512 training samples through that path, as SPOS does). Each arch
is trained alone with the space's standard recipe (``benchmarks/oneshot.py``'s sizes and
``SPACE_RECIPES``) with ``--seeds`` seeds. Tau is taken against the first training's
validation accuracy (what a search that trained them would see) and against the mean test
accuracy over the seeds; the ceiling is the tau between the first two trainings' accuracies
(validation and test).

    python benchmarks/supernet_ranking.py                       # darts, random one-shot, 30 archs
    python benchmarks/supernet_ranking.py --epochs 90 --train-portion 0.95
    python benchmarks/supernet_ranking.py --quick               # smoke run: digits, tiny

``--cache FILE`` keeps the standalone results (by space, recipe epochs, seed and arch) in a JSON
file, so that runs with other supernet settings rank the same archs without training them again.

The last line is one JSON object ``{"tau": {"recalibrated": {"val": ..., "test": ...},
"running_averages": {...}}, "ceiling": {"val": ..., "test": ...}, "search_s": ...,
"supernet_mean_val_acc": {...}, "standalone_mean_test_acc": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from oneshot import QUICK_SIZES, SIZES, SPACE_RECIPES, SPACES

METHODS = ("random-one-shot", "enas")


def _tau(a: list[float], b: list[float]) -> float | None:
    from scipy.stats import kendalltau

    value = kendalltau(a, b)[0]
    return None if np.isnan(value) else round(float(value), 3)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="darts", choices=SPACES, help="the space (darts)")
    parser.add_argument("--method", default="random-one-shot", choices=METHODS, help="method")
    parser.add_argument("--epochs", type=int, default=30, help="supernet epochs (30)")
    parser.add_argument(
        "--train-portion", type=float, default=0.5, help="share that trains the weights (0.5)"
    )
    parser.add_argument("--archs", type=int, default=30, help="archs ranked (30)")
    parser.add_argument("--seeds", type=int, default=2, help="trainings alone of each arch (2)")
    parser.add_argument("--train-epochs", type=int, default=10, help="epochs alone (10)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search")
    parser.add_argument("--cache", help="JSON file of standalone results to reuse and extend")
    parser.add_argument("--quick", action="store_true", help="smoke run: digits, tiny networks")
    args = parser.parse_args(argv)
    if args.seeds < 2 or args.archs < 3:
        parser.error("--seeds: allowed: 2 or more (the ceiling compares two); --archs: 3 or more")
    warnings.simplefilter("ignore")
    import tempfile

    import torch

    import nasforge as nf
    from nasforge.estimation.train import TrainEvaluator

    sizes, dataset = SIZES[args.space], "mnist1d"
    if args.quick:
        sizes, dataset, args.epochs, args.train_epochs = QUICK_SIZES[args.space], "digits", 1, 1
        args.archs = min(args.archs, 4)

    def evaluator() -> Any:
        return TrainEvaluator(
            dataset,
            epochs=args.train_epochs,
            device="cpu",
            batch_size=128,
            threads=args.threads,
            **SPACE_RECIPES.get(args.space, {}),
        )

    space = nf.create_space(args.space, **sizes)
    options: dict[str, Any] = {
        "epochs": args.epochs,
        "batch_size": 64,
        "train_portion": args.train_portion,
        "report_archs": 0,
    }
    if args.method == "random-one-shot":
        options["search_trials"] = 1  # only the trained supernet is wanted
    with tempfile.TemporaryDirectory(prefix="nasforge-ranking-") as folder:
        exp = nf.Experiment(
            space,
            strategy=args.method,
            strategy_options=options,
            evaluator=evaluator(),
            storage=f"sqlite:///{folder}/ranking.db",
            name="ranking",
            seed=args.seed,
        )
        began = time.perf_counter()
        exp.run(progress=False)
        search_s = time.perf_counter() - began
    method: Any = exp.strategy_
    data = method._data(exp.evaluator, torch.device("cpu"))
    archs = method._sample_archs(args.archs)
    estimates: dict[str, list[float]] = {}
    for name, recalibrate in (("recalibrated", True), ("running_averages", False)):
        method.bn_recalibrate = recalibrate
        estimates[name] = [method._score(data, arch)[1] for arch in archs]
    cache = Path(args.cache) if args.cache else None
    known = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    val: list[list[float]] = []
    test: list[list[float]] = []
    for seed in range(args.seeds):
        val.append([])
        test.append([])
        for i, arch in enumerate(archs):
            key = f"{dataset}|{args.space}|{sizes}|{args.train_epochs}|{seed}|{arch.key}"
            if key not in known:
                metrics = evaluator().fit(arch, space, seed=seed)[1]
                known[key] = [metrics["val_acc"], metrics["test_acc"]]
                if cache is not None:
                    cache.write_text(json.dumps(known))
            val[-1].append(known[key][0])
            test[-1].append(known[key][1])
            print(f"seed {seed} arch {i + 1}/{len(archs)}: {known[key][1]}", file=sys.stderr)
    mean_test = list(np.mean(test, axis=0))
    result = {
        "space": args.space,
        "method": args.method,
        "epochs": args.epochs,
        "train_portion": args.train_portion,
        "archs": len(archs),
        "search_s": round(search_s, 1),
        "tau": {
            name: {"val": _tau(est, val[0]), "test": _tau(est, mean_test)}
            for name, est in estimates.items()
        },
        "ceiling": {"val": _tau(val[0], val[1]), "test": _tau(test[0], test[1])},
        "supernet_mean_val_acc": {k: round(float(np.mean(v)), 2) for k, v in estimates.items()},
        "standalone_mean_test_acc": round(float(np.mean(mean_test)), 2),
        "standalone_test_std": round(float(np.std(mean_test, ddof=1)), 2),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
