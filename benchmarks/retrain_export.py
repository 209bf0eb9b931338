"""Retrain timing and export parity: what ``nasforge retrain`` and ``nasforge export`` cost.

1. Retrain: one NB201 arch on MNIST-1D at the design's protocol (N=1 cell per stage, C=16,
   20 epochs of SGD, batch 128, cosine schedule), seeds 0, 1, 2: seconds per seed and test
   accuracy mean ± std (the sample std, ddof=1).
2. Export parity: every format for the retrained model (trained weights) and for ``--archs``
   archs sampled from the space (seed-initialised weights) on MNIST-1D (1-D) and digits (2-D):
   the largest max-abs difference of the exported model's logits from the in-library model's
   on 64 real test inputs, and the seconds each export (write + check) takes.

Prints a Markdown table, then one JSON object as its last line.

Usage:
    python benchmarks/retrain_export.py            # 20 epochs x 3 seeds, 10 archs per task
    python benchmarks/retrain_export.py --quick    # digits, 1 epoch x 1 seed, 1 arch (smoke run)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasforge.estimation.train import TrainEvaluator
from nasforge.export import FORMATS, export_model, retrain
from nasforge.spaces import NB201Space
from nasforge.storage import Storage
from nasforge.trial import TrialStatus

#: a NAS-Bench-201 arch with every operation (the retrained one)
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="retrain epochs (default 20)")
    parser.add_argument("--seeds", default="0,1,2", help="retrain seeds (default 0,1,2)")
    parser.add_argument("--archs", type=int, default=10, help="sampled archs per task (10)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    return parser.parse_args(argv)


def store_with(folder: Path, name: str, space: NB201Space, keys: list[str]) -> Storage:
    """A store holding a Python-made experiment whose trial ``i`` is ``keys[i]``."""
    store = Storage(folder / f"{name}.db")
    record = store.create_experiment(name, 0, {"val_acc": "max"}, {"config": {}})
    for number, key in enumerate(keys):
        store.start_trial(record.id, number, space.parse(key), seed=number)
        store.finish_trial(record.id, number, TrialStatus.COMPLETE, {"val_acc": 0.0}, [0.0])
    return store


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    quick = args.quick
    epochs, seeds = (1, [0]) if quick else (args.epochs, [int(s) for s in args.seeds.split(",")])
    n_archs = 1 if quick else args.archs
    tasks = {"digits": 8} if quick else {"mnist1d": 16, "digits": 16}
    out: dict[str, Any] = {"retrain": {}, "parity": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # 1. retrain
        dataset = "digits" if quick else "mnist1d"
        space = NB201Space(n_cells=1, channels=tasks[dataset])
        trainer = TrainEvaluator(dataset, epochs=epochs, threads=args.threads)
        store = store_with(folder, "retrain", space, [ARCH])
        console.print(f"retraining {ARCH} on {dataset}: {epochs} epochs x seeds {seeds}")
        result = retrain(
            "retrain", store, seeds=seeds, space=space, evaluator=trainer, progress=True
        )
        seconds = [s.metrics["seconds"] for s in result.seeds]
        out["retrain"] = {
            "dataset": dataset,
            "n_cells": 1,
            "channels": tasks[dataset],
            "epochs": epochs,
            "seeds": seeds,
            "test_acc": [round(s.test_acc, 2) for s in result.seeds],
            "test_acc_mean": round(result.mean(), 2),
            # the sample std; one seed has no spread (None, not NaN: the line must stay JSON)
            "test_acc_std": round(result.std(), 2) if len(result.seeds) > 1 else None,
            "seconds_per_seed": round(float(np.mean(seconds)), 1),
        }
        trained = _parity(store, "retrain", space, trainer, folder / "trained")
        out["parity"][f"{dataset} trained"] = trained
        # 2. parity on sampled archs per task
        total = len(tasks) * n_archs * len(FORMATS)
        with Progress(console=console, transient=True) as bar:
            job = bar.add_task("export", total=total)
            for name, channels in tasks.items():
                space = NB201Space(n_cells=1, channels=channels)
                rng = np.random.default_rng(0)
                keys = [space.sample(rng).key for _ in range(n_archs)]
                store = store_with(folder, name, space, keys)
                evaluator = TrainEvaluator(name)
                rows = [
                    _parity(store, name, space, evaluator, folder / name, number, bar, job)
                    for number in range(n_archs)
                ]
                out["parity"][f"{name} initial"] = {
                    fmt: {
                        "archs": len(rows),
                        "max_abs_diff": max(r[fmt]["max_abs_diff"] for r in rows),
                        "seconds": round(float(np.mean([r[fmt]["seconds"] for r in rows])), 2),
                        "passed": all(r[fmt]["passed"] for r in rows),
                    }
                    for fmt in FORMATS
                }
    _print_table(out)
    print(json.dumps(out))
    return out


def _parity(
    store: Storage,
    name: str,
    space: NB201Space,
    evaluator: TrainEvaluator,
    folder: Path,
    trial: int = 0,
    bar: Any = None,
    job: Any = None,
) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = {"pytorch": "pt", "torchscript": "ts", "onnx": "onnx", "code": "py"}
    row: dict[str, Any] = {}
    for fmt in FORMATS:
        start = time.perf_counter()
        result = export_model(
            name,
            store,
            format=fmt,
            out=folder / f"t{trial}.{suffix[fmt]}",
            trial=trial,
            space=space,
            evaluator=evaluator,
        )
        row[fmt] = {
            "max_abs_diff": result.check.max_abs_diff,
            "seconds": round(time.perf_counter() - start, 2),
            "passed": result.check.passed,
        }
        if bar is not None:
            bar.advance(job)
    return row


def _print_table(out: dict[str, Any]) -> None:
    r = out["retrain"]
    print(
        f"retrain {r['dataset']} N={r['n_cells']} C={r['channels']} {r['epochs']} epochs, "
        f"seeds {r['seeds']}: test_acc {r['test_acc_mean']:.2f}"
        + ("" if r["test_acc_std"] is None else f" ± {r['test_acc_std']:.2f}")
        + " "
        f"({r['test_acc']}), {r['seconds_per_seed']} s per seed\n"
    )
    print("| weights | " + " | ".join(FORMATS) + " |")
    print("| --- |" + " --- |" * len(FORMATS))
    for label, row in out["parity"].items():
        cells = [
            f"{row[f]['max_abs_diff']:.1e} ({row[f]['seconds']:.2f} s)"
            + ("" if row[f]["passed"] else " FAILED")
            for f in FORMATS
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


if __name__ == "__main__":
    main()
