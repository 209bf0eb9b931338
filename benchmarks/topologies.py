"""Evolution in the evolution papers' own spaces: against random search, and weight inheritance
against training from scratch.

For each case of :data:`CASES` whose space is registered (a case whose space or strategy is not
is skipped with a note on stderr), on MNIST-1D (``TrainEvaluator``, CPU, one thread per
worker):

- **evolution vs random search** at the same number of trials (``--trials``, each trained from
  scratch for ``--epochs`` epochs);
- for a case with ``inherit`` (Large-Scale Evolution, the evolved topologies): **weight
  inheritance vs from scratch** at the same wall time (``--wall`` seconds each): the same
  evolution, once training every child from scratch for ``--epochs`` epochs and once starting
  each child from its parent's weights and training ``--inherit-epochs`` epochs more (Real
  et al. 2017; Zhang et al. 2018's knowledge inheritance).

Reported per case and run: the test accuracy of the best-by-validation trial, trials run,
seconds; for the grown-graph spaces, the graph properties (depth, skip edges, fan-in; Zhang et
al. 2018) of the five best networks of the evolution and the rank correlation of each property
with validation accuracy over all its trials. One plot of best validation accuracy so far
against wall time is written next to this script (``topologies.png``).

    python benchmarks/topologies.py                   # every registered case (about 15 min)
    python benchmarks/topologies.py --cases large-scale-evolution --trials 20
    python benchmarks/topologies.py --quick           # smoke: 3 trials, 1 epoch, a tenth of data

The last line is one JSON object ``{"<case>": {"evolution": {...}, "random": {...},
"inherit": {...}, "scratch": {...}, "graph_properties": {...}}, "skipped": [...]}``.
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

#: the cases, by name: a space (with small sizes), its evolution, whether it inherits weights.
#: ``genetic-cnn`` and ``hierarchical`` come with their own branch; until it is merged they are
#: skipped with a note.
CASES: dict[str, dict[str, Any]] = {
    "genetic-cnn": {
        "space": "genetic-cnn",
        "space_options": {},
        "strategy": "genetic",
        "strategy_options": {},
        "inherit": False,
    },
    "hierarchical": {
        "space": "hierarchical",
        "space_options": {},
        "strategy": "hierarchical-evolution",
        "strategy_options": {},
        "inherit": False,
    },
    "large-scale-evolution": {
        "space": "large-scale-evolution",
        "space_options": {"max_layers": 8, "channels": 16, "max_channels": 64},
        "strategy": "large-scale-evolution",
        "strategy_options": {"population_size": 8},
        "inherit": True,
    },
    "evolved-topology": {
        "space": "evolved-topology",
        "space_options": {"stages": 2, "channels": 16, "max_nodes": 6},
        # Zhang et al. evolve with Real et al. 2017's tournaments
        "strategy": "large-scale-evolution",
        "strategy_options": {"population_size": 8},
        "inherit": True,
    },
}
PLOT = Path(__file__).with_name("topologies.png")


def _best_by_val(trials: list[Any]) -> Any:
    done = [t for t in trials if t.metrics.get("val_acc") is not None]
    return max(done, key=lambda t: (t.metrics["val_acc"], -t.number)) if done else None


def _curve(trials: list[Any]) -> list[tuple[float, float]]:
    """(seconds since the first trial started, best val_acc so far) after each trial."""
    done = sorted(
        (t for t in trials if t.finished_at and "val_acc" in t.metrics), key=lambda t: t.finished_at
    )
    if not done:
        return []
    start = min(t.started_at for t in done if t.started_at)
    best, out = -1.0, []
    for t in done:
        best = max(best, t.metrics["val_acc"])
        out.append(((t.finished_at - start).total_seconds(), best))
    return out


def _search(case: dict[str, Any], run: str, args: argparse.Namespace, folder: Path) -> Any:
    import nasforge as nf
    from nasforge.estimation.train import TrainEvaluator
    from nasforge.spaces import create_space

    inherit = run == "inherit"
    evaluator = TrainEvaluator(
        args.dataset,
        epochs=args.inherit_epochs if inherit else args.epochs,
        threads=1,
        device="cpu",
        inherit=inherit,
        train_fraction=0.1 if args.quick else 1.0,  # a smoke run trains on 360 signals
    )
    strategy, options = (
        ("random", {}) if run == "random" else (case["strategy"], case["strategy_options"])
    )
    exp = nf.Experiment(
        create_space(case["space"], **case["space_options"]),
        strategy=strategy,
        strategy_options=options,
        evaluator=evaluator,
        storage=folder / f"{case['space']}-{run}.db",
        name=f"{case['space']}-{run}",
        seed=args.seed,
    )
    timed = run in ("inherit", "scratch")
    started = time.perf_counter()
    exp.run(
        max_trials=None if timed else args.trials,
        max_time=args.wall if timed else None,
        progress=False,
        executor="processes" if args.workers > 1 else "local",
        workers=args.workers,
    )
    seconds = time.perf_counter() - started
    trials = exp.trials("complete")
    best = _best_by_val(trials)
    row = {
        "best_test_acc": round(best.metrics["test_acc"], 2) if best else None,
        "best_val_acc": round(best.metrics["val_acc"], 2) if best else None,
        "trials": len(trials),
        "seconds": round(seconds, 1),
        "curve": [[round(s, 1), round(v, 2)] for s, v in _curve(trials)],
    }
    return row, exp, trials


def _graph_report(exp: Any, trials: list[Any]) -> dict[str, Any]:
    """Graph properties of the five best networks and each property's rank correlation with
    val_acc over all trials (Zhang et al. 2018's analysis)."""
    from scipy.stats import spearmanr

    from nasforge.space.genome import graph_properties

    rows = []
    for t in trials:
        props = graph_properties(exp.space.cells(t.arch))
        rows.append({"val_acc": t.metrics["val_acc"], "test_acc": t.metrics["test_acc"], **props})
    rows.sort(key=lambda r: -r["val_acc"])
    names = ("depth", "nodes", "skip_edges", "mean_fan_in", "max_fan_in")
    correlation = {}
    for name in names:
        values = [r[name] for r in rows]
        if len(rows) > 2 and len(set(values)) > 1:
            correlation[name] = round(float(spearmanr(values, [r["val_acc"] for r in rows])[0]), 2)
    best = [{k: round(v, 2) for k, v in r.items()} for r in rows[:5]]
    return {"best": best, "spearman_with_val_acc": correlation}


def run_case(name: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    case = CASES[name]
    result: dict[str, Any] = {}
    runs = ["evolution", "random"] + (["inherit", "scratch"] if case["inherit"] else [])
    for run in runs:
        row, exp, trials = _search(case, run, args, folder)
        result[run] = row
        shown = {k: v for k, v in row.items() if k != "curve"}
        print(f"{name:22s} {run:9s} {shown}", file=sys.stderr, flush=True)
        if run == "evolution" and getattr(exp.space, "variable_size", False) and trials:
            result["graph_properties"] = _graph_report(exp, trials)
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [c for c in result if c != "skipped"]
    fig, axes = plt.subplots(1, max(1, len(cases)), figsize=(5 * max(1, len(cases)), 4))
    axes = np.atleast_1d(axes)
    for ax, case in zip(axes, cases, strict=False):
        for run, row in result[case].items():
            if isinstance(row, dict) and row.get("curve"):
                xs, ys = zip(*row["curve"], strict=True)
                ax.step(xs, ys, where="post", label=run)
        ax.set_title(case)
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("best val_acc so far (%)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="cases to run (all)")
    parser.add_argument("--trials", type=int, default=40, help="trials of evolution/random (40)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs from scratch (5)")
    parser.add_argument("--inherit-epochs", type=int, default=2, help="epochs of a child (2)")
    parser.add_argument("--wall", type=float, default=75, help="seconds of each timed run (75)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--dataset", default="mnist1d", help="built-in dataset (mnist1d)")
    parser.add_argument("--seed", type=int, default=0, help="search seed")
    parser.add_argument("--plot", default=str(PLOT), help="where to write the plot ('' none)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 trials, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs, args.inherit_epochs, args.wall, args.workers = 3, 1, 1, 3, 1
    from nasforge.spaces import list_spaces
    from nasforge.strategies import list_strategies

    names = [n for n in args.cases.split(",") if n]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"--cases: unknown {unknown[0]!r}; allowed: {', '.join(CASES)}")
    warnings.simplefilter("ignore")  # per-trial warnings would bury the table
    result: dict[str, Any] = {"skipped": []}
    with tempfile.TemporaryDirectory(prefix="nasforge-topologies-") as folder:
        for name in names:
            case = CASES[name]
            missing = [
                f"{kind} {case[kind]!r}"
                for kind, known in (("space", list_spaces()), ("strategy", list_strategies()))
                if case[kind] not in known
            ]
            if missing:
                print(f"{name}: skipped, {' and '.join(missing)} not registered", file=sys.stderr)
                result["skipped"].append(name)
                continue
            result[name] = run_case(name, args, Path(folder))
    if args.plot:
        plot(result, Path(args.plot))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
