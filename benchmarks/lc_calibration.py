"""Is the learning-curve scheduler's predictive distribution honest? Replayed on stored curves.

Takes stores of searches run without early stopping (``benchmarks/early_stopping.py
--schedulers none --storage DIR``: every trial has its whole curve) and replays their trials, in
the order they were told and in shuffled orders, through the ``learning-curve`` scheduler with
each ``uncertainty``:

- calibration: once ``min_trials`` trials have completed, each new trial's final value is
  predicted from its first ``k`` values (``--steps``) before it is learned, and the share of
  finals above the predicted upper 10% and 5% quantiles is counted (honest: 0.10 and 0.05;
  smaller is over-cautious, larger over-confident);
- stopping: the rule is applied at every step with ``--delta``; reported are the share of the
  training epochs it would have spent, the val/test accuracy of the best-by-val trial it let
  complete minus that of the search's best, how many trials it stopped, and how many of those
  would have ended above the best final known when they were stopped ("wrong" stops).

A replay is not a search: the strategy would have bred other children from other survivors,
so the stopping figures show how the rule treats these curves, not what a search with it finds
(``early_stopping.py`` measures that). The last line is one JSON object::

    {"<store>": {"<uncertainty>": {"above_q90": {"1": ..}, "above_q95": {..},
                                   "epochs_share": .., "d_val": .., "d_test": ..,
                                   "stopped": .., "wrong": ..}, ...}, ...}

Usage:
    python benchmarks/early_stopping.py --schedulers none --seeds 2 --storage runs/
    python benchmarks/lc_calibration.py runs/none-2.db
    python benchmarks/lc_calibration.py --quick      # makes a tiny store (digits) and replays it
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from early_stopping import run_search, search_space, told_order

UNCERTAINTIES = ("residuals", "held-out", "ensemble")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="*", type=Path, help="SQLite stores of searches")
    parser.add_argument("--metric", default="val_acc")
    parser.add_argument("--steps", nargs="+", type=int, default=[1, 3, 5, 10])
    parser.add_argument("--uncertainties", nargs="+", default=list(UNCERTAINTIES))
    parser.add_argument("--min-trials", type=int, default=10)
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--orders", type=int, default=3, help="search order + shuffled ones")
    parser.add_argument("--quick", action="store_true", help="smoke run on a tiny digits search")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.min_trials, args.orders = [1, 2], 3, 2
    elif not args.stores:
        parser.error("give at least one store (or --quick)")
    return args


def load_trials(path: Path) -> tuple[list[Any], int, Any]:
    """The complete trials of the store's one experiment, in tell order, the full step, and
    the searched space (rebuilt from the store's record; stores written before nasforge kept
    it hold ``early_stopping.py``'s space, whose hyperparameters the archs name)."""
    from nasforge.spaces import create_space
    from nasforge.storage import Storage
    from nasforge.trial import TrialStatus

    storage = Storage(path, read_only=True)
    records = storage.list_experiments()
    if len(records) != 1:
        raise SystemExit(f"{path}: expected one experiment, found {len(records)}")
    trials = storage.trials(records[0].id)
    complete = [t for t in trials if t.status == TrialStatus.COMPLETE and t.intermediate]
    if len(complete) < len(trials):
        print(f"{path}: {len(trials) - len(complete)} trials without a whole curve left out")
    block = (records[0].spec.get("rebuild") or {}).get("space")
    if block:
        space = create_space(block["name"], **block.get("options", {}))
    else:
        space = search_space(hyperparameters=[h for h in ("lr",) if h in complete[0].arch])
    return told_order(complete), max(max(t.intermediate) for t in complete), space


def scheduler(uncertainty: str, args: argparse.Namespace, space: Any, full: int) -> Any:
    from nasforge.schedulers import create_scheduler

    lc = create_scheduler(
        "learning-curve", uncertainty=uncertainty, min_trials=args.min_trials, delta=args.delta
    )
    return lc.bind(space, full, {args.metric: "max"})


def calibration(trials: Sequence[Any], lc: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Share of finals above the predicted upper 10% / 5% quantile, per prefix length."""
    tails: dict[int, list[float]] = {k: [] for k in args.steps}
    for t in trials:
        if len(lc.finals_) >= args.min_trials:
            curve = [t.intermediate[s][args.metric] for s in sorted(t.intermediate)]
            for k in tails:
                p = lc.predict(curve[:k], t.arch) if k < len(curve) else None
                if p is not None:
                    tails[k].append(p.prob_above(t.metrics[args.metric]))
        lc.replay_trial(t)
    return {
        name: {str(k): round(float(np.mean(np.array(v) < q)), 3) for k, v in tails.items() if v}
        for name, q in (("above_q90", 0.10), ("above_q95", 0.05))
    }


def replay_stopping(trials: Sequence[Any], lc: Any, metric: str) -> dict[str, float]:
    """Apply the rule at every step; what it would have spent, kept and stopped."""
    from nasforge.trial import TrialStatus

    epochs, kept, stopped, wrong = 0, [], 0, 0
    for t in trials:
        at = None
        for step, metrics in sorted(t.intermediate.items()):
            epochs += 1
            if lc.report(t.number, step, metrics, t.arch):
                at = step
                wrong += t.metrics[metric] > max(lc.finals_.values())
                break
        if at is None:
            lc.complete(t)
            kept.append(t)
            continue
        stopped += 1
        partial = {s: m for s, m in t.intermediate.items() if s <= at}
        lc.complete(
            dataclasses.replace(t, status=TrialStatus.PRUNED, intermediate=partial, metrics={})
        )
    best = max(trials, key=lambda t: t.metrics[metric])
    mine = max(kept, key=lambda t: t.metrics[metric])
    return {
        "epochs_share": epochs / sum(len(t.intermediate) for t in trials),
        "d_val": mine.metrics[metric] - best.metrics[metric],
        "d_test": mine.metrics.get("test_acc", np.nan) - best.metrics.get("test_acc", np.nan),
        "stopped": stopped,
        "wrong": wrong,
    }


def analyse(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    trials, full, space = load_trials(path)
    rng = np.random.default_rng(0)
    orders = [list(trials)] + [
        [trials[i] for i in rng.permutation(len(trials))] for _ in range(args.orders - 1)
    ]
    out: dict[str, Any] = {}
    for uncertainty in args.uncertainties:
        cell = calibration(trials, scheduler(uncertainty, args, space, full), args)
        runs = [
            replay_stopping(o, scheduler(uncertainty, args, space, full), args.metric)
            for o in orders
        ]
        for key in runs[0]:
            cell[key] = round(statistics.fmean(r[key] for r in runs), 3)
        out[uncertainty] = cell
        print(f"{path.name} {uncertainty:<9} {json.dumps(cell)}")
        sys.stdout.flush()
    return out


def quick_store(folder: Path) -> Path:
    """A 10-trial, 3-epoch digits search without early stopping, stored in ``folder``."""
    run_search("none", 0, 10, 3, "digits", 8, {}, False, folder, ())
    return folder / "none-0.db"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        stores = [quick_store(Path(tmp))] if args.quick else args.stores
        result = {p.name: analyse(p, args) for p in stores}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
