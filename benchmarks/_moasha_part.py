"""MOASHA against the same multi-objective search without early stopping, on the NB201 table.

:func:`moasha_vs_full` runs one search per seed twice: with the ``moasha`` scheduler and with no
scheduler. Both search the NAS-Bench-201 table (``TabularEvaluator(epochs=200, curve=True)``:
a trial reports its 12-epoch ``val_acc`` at step 12, then its 200-epoch one at step 200) for the
objectives ``val_acc`` (max) and ``params_m`` (min), with the same strategy and seed. MOASHA's
rungs start at 12 epochs (``min_step=12``, ``eta=3``; the rungs at 36 and 108 have no report
before the end, so a trial is judged once, after 12 epochs).

For each query count (trials asked, the first ``q`` trials of the run) it gives the training
epochs spent (12 for a trial stopped at step 12, 200 for one trained to the end) and the
normalised hypervolume (:func:`nasforge.pareto.normalised_hypervolume`, reference 1.1) of the
trials trained to 200 epochs, normalised by the ideal and nadir points of the table's true
front of (``val_acc_200``, ``params_m``); a trial MOASHA stopped has no 200-epoch value and adds
nothing. ``full_same_epochs`` is the search without stopping cut where it had spent as many
epochs as MOASHA: the same budget of training, spent on fewer archs.

    python benchmarks/_moasha_part.py                       # 10 seeds x 50/100/200 queries
    python benchmarks/_moasha_part.py --strategy optuna:nsga2 --seeds 0 1 2 --queries 100
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nasforge as nf
from nasforge.errors import NasforgeError, NasforgeWarning
from nasforge.estimation.tabular import BenchmarkTable, TabularEvaluator
from nasforge.pareto import ideal_nadir, normalised_hypervolume
from nasforge.trial import Trial, TrialStatus

OBJECTIVES = {"val_acc": "max", "params_m": "min"}
DIRECTIONS = ("max", "min")
EPOCHS = 200
MOASHA_OPTIONS = {"min_step": 12, "reduction_factor": 3}


def search(
    evaluator: TabularEvaluator, seed: int, trials: int, strategy: str, scheduler: str | None
) -> list[Trial]:
    """The trials of one search in the order they were asked (one worker, in memory)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NasforgeWarning)  # e.g. a strategy on the primary only
        exp = nf.Experiment(
            evaluator.space(),
            strategy=strategy,
            evaluator=evaluator,
            objectives=OBJECTIVES,
            storage="sqlite:///:memory:",
            name=f"{scheduler or 'full'}-{seed}",
            seed=seed,
            fidelity={"epochs": EPOCHS},
            scheduler=scheduler,
            scheduler_options=MOASHA_OPTIONS if scheduler else None,
        )
    exp.run(max_trials=trials, progress=False)
    return sorted(exp.trials(), key=lambda t: t.number)


def epochs_of(trial: Trial) -> int:
    """The epochs a trial trained: the last step it reported."""
    return max(trial.intermediate, default=0)


def hypervolume_of(trials: Sequence[Trial], ideal: np.ndarray, nadir: np.ndarray) -> float:
    """The normalised hypervolume of the trials trained to the end."""
    points = [
        (t.metrics["val_acc"], t.metrics["params_m"])
        for t in trials
        if t.status == TrialStatus.COMPLETE
    ]
    return normalised_hypervolume(np.reshape(points, (-1, 2)), DIRECTIONS, ideal, nadir)


def within_epochs(trials: Sequence[Trial], budget: int) -> list[Trial]:
    """The first trials whose epochs add up to at most ``budget``."""
    out, spent = [], 0
    for t in trials:
        spent += epochs_of(t)
        if spent > budget:
            break
        out.append(t)
    return out


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(statistics.fmean(values), 4), "std": round(std, 4)}


def moasha_vs_full(
    table: str | Path | BenchmarkTable | None = None,
    seeds: Sequence[int] = tuple(range(10)),
    queries: int | Sequence[int] = (50, 100, 200),
    strategy: str = "random",
) -> dict[str, Any]:
    """MOASHA and the search without stopping, per query count: epochs and hypervolume.

    Args:
        table: a NAS-Bench-201-form table (its path, or loaded); ``None``: the shipped one.
        seeds: one pair of searches per seed.
        queries: the trial counts to report at (each search asks the largest).
        strategy: the search strategy, e.g. ``"random"`` or ``"optuna:nsga2"``.

    Returns:
        ``{"strategy", "seeds", "true_front_hv", "moasha": {q: row}, "full": {q: row},
        "full_same_epochs": {q: row}}``, where a row holds ``epochs``, ``hv`` and ``complete``
        (trials trained to the end), each ``{"mean", "std"}`` over the seeds.
    """
    path = table.path if isinstance(table, BenchmarkTable) else table
    evaluator = TabularEvaluator(None if path is None else str(path), epochs=EPOCHS, curve=True)
    columns = evaluator.table_.columns
    front = np.column_stack([columns[f"val_acc_{EPOCHS}"], columns["params_m"]])
    ideal, nadir = ideal_nadir(front, DIRECTIONS)
    counts = sorted({queries} if isinstance(queries, int) else set(queries))
    rows: dict[str, dict[int, dict[str, list[float]]]] = {
        kind: {q: {"epochs": [], "hv": [], "complete": []} for q in counts}
        for kind in ("moasha", "full", "full_same_epochs")
    }

    def add(kind: str, q: int, trials: Sequence[Trial]) -> None:
        row = rows[kind][q]
        row["epochs"].append(float(sum(epochs_of(t) for t in trials)))
        row["hv"].append(hypervolume_of(trials, ideal, nadir))
        row["complete"].append(float(sum(t.status == TrialStatus.COMPLETE for t in trials)))

    for seed in seeds:
        stopped = search(evaluator, seed, counts[-1], strategy, "moasha")
        full = search(evaluator, seed, counts[-1], strategy, None)
        for q in counts:
            add("moasha", q, stopped[:q])
            add("full", q, full[:q])
            budget = sum(epochs_of(t) for t in stopped[:q])
            add("full_same_epochs", q, within_epochs(full, budget))
    return {
        "strategy": strategy,
        "seeds": list(seeds),
        "true_front_hv": round(normalised_hypervolume(front, DIRECTIONS, ideal, nadir), 4),
        **{
            kind: {
                str(q): {name: _mean_std(values) for name, values in row.items()}
                for q, row in by_q.items()
            }
            for kind, by_q in rows.items()
        },
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    """A Markdown table of the result: one row per method and query count."""
    lines = [
        f"MOASHA (min_step 12, eta 3) against no stopping; strategy {result['strategy']}, "
        f"{len(result['seeds'])} seeds; true front's normalised HV {result['true_front_hv']}",
        "",
        "| method | queries | epochs | trained to 200 | normalised HV |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in ("full", "moasha", "full_same_epochs"):
        for q, row in result[kind].items():
            epochs, complete, hv = row["epochs"], row["complete"], row["hv"]
            lines.append(
                f"| {kind} | {q} | {epochs['mean']:.0f} | {complete['mean']:.1f} | "
                f"{hv['mean']:.4f} ± {hv['std']:.4f} |"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="NAS-Bench-201-form CSV (default: shipped)")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--queries", nargs="+", type=int, default=[50, 100, 200])
    parser.add_argument("--strategy", default="random")
    args = parser.parse_args(argv)
    try:
        result = moasha_vs_full(args.table, args.seeds, args.queries, args.strategy)
    except NasforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report_lines(result)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
