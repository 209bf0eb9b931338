"""Lower-fidelity training on MNIST-1D: what each cheaper setting saves and what it costs.

Trains the same architectures (NB201 cell, 1 cell per stage, C=16, 20 epochs, threads=1) at full
fidelity and at lower fidelities of ``TrainEvaluator`` (``ctx.fidelity``: fewer epochs, a share
of the training set, fewer channels; more cells for comparison), and prints per setting the mean
wall time, the mean test accuracy and the Spearman correlation of its ``val_acc`` with the
full-fidelity ``val_acc`` over the architectures (what a search needs: the same ranking for
less time). The last line is one JSON object
``{"full": {"wall_s": ..., "test_acc": ..., "spearman_vs_full": ...}, "<key>=<value>": {...},
..., "n_archs": N}``.

    python benchmarks/low_fidelity.py --archs 12 --kinds train_fraction,channels,epochs
    python benchmarks/low_fidelity.py --quick   # a few seconds, for the tests
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.stats import spearmanr

KINDS = ("train_fraction", "channels", "epochs", "n_cells")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=6, help="architectures sampled")
    parser.add_argument("--epochs", type=int, default=20, help="full-fidelity epochs")
    parser.add_argument("--channels", type=int, default=16, help="full-fidelity C")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled archs")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"of {', '.join(KINDS)}")
    parser.add_argument("--quick", action="store_true", help="smoke run: digits, 2 archs, C=8")
    args = parser.parse_args()
    kinds = [kind for kind in args.kinds.split(",") if kind]
    for kind in kinds:
        if kind not in KINDS:
            parser.error(f"--kinds has unknown {kind!r}; allowed: {', '.join(KINDS)}")
    from nasforge.estimation import TrialContext
    from nasforge.estimation.train import TrainEvaluator
    from nasforge.spaces import NB201Space

    torch.set_num_threads(1)
    dataset, n_archs, epochs, channels = "mnist1d", args.archs, args.epochs, args.channels
    if args.quick:
        dataset, n_archs, epochs, channels = "digits", 2, 2, 8
        kinds = [kind for kind in kinds if kind != "n_cells"]
    lower = {
        "train_fraction": 0.25,
        "channels": channels // 2,
        "epochs": max(1, epochs // 4),
        "n_cells": 2,
    }
    settings: dict[str, dict[str, float]] = {"full": {}}
    settings.update({f"{kind}={lower[kind]}": {kind: lower[kind]} for kind in kinds})
    space = NB201Space(n_cells=1, channels=channels)
    evaluator = TrainEvaluator(dataset, epochs=epochs, threads=1, device="cpu")
    evaluator.load_data()
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(n_archs)]
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in settings}
    for i, arch in enumerate(archs):
        for name, fidelity in settings.items():
            start = time.perf_counter()
            metrics = evaluator.evaluate(arch, TrialContext(space=space, seed=i, fidelity=fidelity))
            wall = time.perf_counter() - start
            rows[name].append((wall, metrics["val_acc"], metrics["test_acc"]))
            print(
                f"arch {i} {name:>20}: {wall:6.2f} s  val {metrics['val_acc']:5.1f}  "
                f"test {metrics['test_acc']:5.1f}  params {int(metrics['params'])}  {arch.key}",
                flush=True,
            )
    full_val = [val for _, val, _ in rows["full"]]
    result: dict[str, object] = {}
    for name, values in rows.items():
        walls, vals, tests = zip(*values, strict=True)
        rho = float(spearmanr(vals, full_val).statistic) if n_archs > 2 else float("nan")
        result[name] = {
            "wall_s": round(float(np.mean(walls)), 2),
            "test_acc": round(float(np.mean(tests)), 2),
            "spearman_vs_full": None if np.isnan(rho) else round(rho, 3),
        }
    result["n_archs"] = n_archs
    print(json.dumps(result))


if __name__ == "__main__":
    main()
