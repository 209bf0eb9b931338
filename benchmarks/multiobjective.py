"""Multi-objective search on NAS-Bench-201-form tables: nasforge's strategies against Optuna's
NSGA-II driven directly, by normalised hypervolume and IGD against the table's true front.

Objectives ``val_acc_12`` (max) and ``params_m`` (min). Each search queries ``--queries``
distinct archs of the table (an arch asked again is told its known result and costs no query);
its front is scored against the true front of the same two columns over the whole table:

- normalised hypervolume (:func:`nasforge.pareto.normalised_hypervolume`): both objectives
  mapped to [0, 1] by the true front's ideal and nadir points (EvoXBench's normalisation), the
  reference point 1.1 on each (a tenth beyond the nadir); the true front's own value is the most
  any search can reach and is printed beside;
- IGD (:func:`nasforge.pareto.igd`) of the true front to the search's, in the same units.

Optuna's NSGA-II runs as a user would write it, with its defaults (``NSGAIISampler(seed=s)``,
population 50), one categorical per edge, in a study with directions maximise/minimise; nasforge
strategies run through ``create_strategy(..., objectives=...)`` with ask/tell, as the search loop
drives them. Both see the same table and the same query counting, side by side in one run.

    python benchmarks/multiobjective.py                       # 30 seeds x 100 queries
    python benchmarks/multiobjective.py --table other.csv --strategies random,dpp-net
    python benchmarks/multiobjective.py --quick               # smoke run: 2 seeds x 30 queries

Two more parts, each skipped with ``--no-latency`` / ``--no-moasha``:

- **Measured latency on MNIST-1D**: ``mo-regularized-evolution`` on the ``chain`` space (trained
  ``--latency-epochs`` epochs on the CPU, 2 threads) with objectives ``val_acc`` (max) and
  ``latency_ms`` (min), the CPU latency of one signal at 1 thread (median of 50 timings after
  10 warm-up passes, their interquartile range stored), for ``--latency-trials`` trials. After
  the search every member of its front is measured again by a fresh cost evaluator: the
  re-measured latencies, their spread, and whether they keep the order the search saw
  (Spearman's rho) show whether the front's members really differ.
- **Other tables** (``--other-seeds`` each, 0 to skip): the same comparison on tables of the
  same form whose landscapes differ in known ways (:mod:`nasforge.bench.tables`: operation
  names permuted, noise on ``val_acc_12``, a synthetic landscape).
- **MOASHA** (``benchmarks/_moasha_part.py``): the same search (``--moasha-strategy``) on the
  table trained to 200 epochs with and without the ``moasha`` scheduler: epochs spent and the
  normalised hypervolume reached.

Writes the front of seed 0 of every strategy over the table's points as a PNG (``--plot``) and
prints one JSON object as its last line: ``{"table": ..., "queries": ..., "seeds": ...,
"reference_point": [1.1, 1.1], "ideal": [...], "nadir": [...], "true_front": {"hypervolume":
..., "size": ...}, "<strategy>": {"hypervolume": mean, "hypervolume_std": ..., "igd": mean,
"igd_std": ..., "front_size": mean, "seconds": ...}, "winner": ...}`` (``optuna-nsga2-direct`` is
Optuna driven directly).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge import pareto
from nasforge.estimation.tabular import BenchmarkTable, load_table
from nasforge.objectives import Objectives
from nasforge.strategies import create_strategy
from nasforge.trial import Trial, TrialStatus

OBJECTIVES = Objectives.parse({"val_acc_12": "max", "params_m": "min"})
DIRECTIONS = OBJECTIVES.directions
DIRECT = "optuna-nsga2-direct"
DEFAULT_STRATEGIES = (
    "random",
    "optuna:nsga2",
    "optuna:nsga3",
    "optuna:tpe",
    "mo-regularized-evolution",
    "dpp-net",
    "reinforce+penalty",
    "reinforce+constrained",
    DIRECT,
)
#: strategies run with options (MONAS's two rewards for the REINFORCE controller)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "reinforce+penalty": (
        "reinforce",
        {"reward": {"kind": "penalty", "weights": {"params_m": 10}}},
    ),
    "reinforce+constrained": (
        "reinforce",
        {"reward": {"kind": "constrained", "budgets": {"params_m": 0.5}}},
    ),
}
#: how the MNIST-1D part measures latency (CPU, one signal, one thread)
LATENCY = {"name": "latency", "options": {"device": "cpu", "threads": 1, "batch_size": 1}}
REFERENCE = 1.1
DEFAULT_PLOT = Path(__file__).resolve().parent / "multiobjective_front.png"
#: a search stops after this many asks in a row that brought no new arch
STALE_ASKS = 2000


def _points(table: BenchmarkTable, rows: Sequence[int]) -> np.ndarray:
    index = np.asarray(rows, dtype=np.int64)
    return np.column_stack([table.val_acc_12[index], table.params_m[index]])


def search_nasforge(name: str, table: BenchmarkTable, seed: int, queries: int) -> list[int]:
    """The table rows a nasforge strategy queries, in order (ask/tell as the loop drives it)."""
    strategy, options = VARIANTS.get(name, (name, {}))
    searcher = create_strategy(strategy, table.space(), seed=seed, objectives=OBJECTIVES, **options)
    rows: list[int] = []
    queried: set[int] = set()
    asks = stale = 0
    while len(rows) < queries and len(queried) < len(table) and stale < STALE_ASKS:
        arch = searcher.ask()
        row = table.find(arch)
        if row is None:
            trial = Trial(asks, arch, TrialStatus.FAILED, seed=seed, error="not in the table")
            stale += 1
        else:
            stale = stale + 1 if row in queried else 0
            if row not in queried:
                queried.add(row)
                rows.append(row)
            metrics = table.row(row)
            metrics = {"val_acc": metrics["val_acc_12"], **metrics}
            scores = (metrics["val_acc_12"], -metrics["params_m"])
            trial = Trial(asks, arch, TrialStatus.COMPLETE, metrics, scores=scores, seed=seed)
        asks += 1
        searcher.tell(trial)
    return rows


def search_optuna_direct(table: BenchmarkTable, seed: int, queries: int) -> list[int]:
    """The rows Optuna's NSGA-II queries with its defaults, one categorical per edge."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = table.space()
    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=optuna.samplers.NSGAIISampler(seed=seed)
    )
    rows: list[int] = []
    queried: set[int] = set()
    stale = 0
    while len(rows) < queries and len(queried) < len(table) and stale < STALE_ASKS:
        trial = study.ask()
        values = {
            dim.name: trial.suggest_categorical(dim.name, list(dim.choices)) for dim in space.dims
        }
        row = table.find(space.make(values))
        if row is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            stale += 1
            continue
        stale = stale + 1 if row in queried else 0
        if row not in queried:
            queried.add(row)
            rows.append(row)
        study.tell(trial, [float(table.val_acc_12[row]), float(table.params_m[row])])
    return rows


def true_front(table: BenchmarkTable) -> np.ndarray:
    """The non-dominated points of the whole table on the two objectives."""
    points = _points(table, range(len(table)))
    return points[pareto.nondominated(points, DIRECTIONS)]


def score(points: np.ndarray, front: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Normalised hypervolume and IGD of ``points`` against the true ``front``, and their own
    non-dominated points."""
    ideal, nadir = pareto.ideal_nadir(front, DIRECTIONS)
    own = points[pareto.nondominated(points, DIRECTIONS)]
    hv = pareto.normalised_hypervolume(own, DIRECTIONS, ideal, nadir, REFERENCE)
    return hv, pareto.igd(own, front, DIRECTIONS, ideal, nadir), own


def compare(
    table: BenchmarkTable, strategies: Sequence[str], seeds: int, queries: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Each strategy's mean normalised hypervolume and IGD on ``table`` over ``seeds`` searches
    of ``queries`` distinct archs, the best nasforge strategy, and seed 0's fronts."""
    front = true_front(table)
    ideal, nadir = pareto.ideal_nadir(front, DIRECTIONS)
    result: dict[str, Any] = {
        "table": str(table.path),
        "ideal": ideal.tolist(),
        "nadir": nadir.tolist(),
        "true_front": {
            "hypervolume": round(
                pareto.normalised_hypervolume(front, DIRECTIONS, ideal, nadir, REFERENCE), 4
            ),
            "size": len(front),
        },
    }
    seed0: dict[str, np.ndarray] = {}
    for name in strategies:
        search: Callable[[int], list[int]]
        if name == DIRECT:
            search = lambda s: search_optuna_direct(table, s, queries)  # noqa: E731
        else:
            search = lambda s, n=name: search_nasforge(n, table, s, queries)  # noqa: E731
        hvs, igds, sizes = [], [], []
        began = time.perf_counter()
        for seed in range(seeds):
            hv, distance, own = score(_points(table, search(seed)), front)
            hvs.append(hv)
            igds.append(distance)
            sizes.append(len(own))
            if seed == 0:
                seed0[name] = own
        result[name] = {
            "hypervolume": round(float(np.mean(hvs)), 4),
            "hypervolume_std": round(float(np.std(hvs)), 4),
            "igd": round(float(np.mean(igds)), 4),
            "igd_std": round(float(np.std(igds)), 4),
            "front_size": round(float(np.mean(sizes)), 1),
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(f"{Path(table.path).stem[:16]:16s} {name:26s} {result[name]}", file=sys.stderr)
    ours = [n for n in strategies if n != DIRECT]
    if ours:
        best = max(ours, key=lambda n: result[n]["hypervolume"])
        result["best_nasforge"] = best
        if DIRECT in strategies:
            result["best_beats_optuna_direct"] = bool(
                result[best]["hypervolume"] >= result[DIRECT]["hypervolume"]
            )
    return result, seed0


def other_tables(folder: Path, source: BenchmarkTable) -> list[BenchmarkTable]:
    """Tables of the same form whose landscapes differ in known ways
    (:mod:`nasforge.bench.tables`): operations renamed, a noisy 12-epoch column, a synthetic
    landscape with its own parameter counts."""
    from nasforge.bench.tables import noisy_table, permuted_ops_table, synthetic_table

    return [
        permuted_ops_table(folder / "permuted-ops.csv", seed=0, source=source),
        noisy_table(folder / "noisy-val.csv", sigma=1.0, seed=0, source=source),
        synthetic_table(folder / "synthetic-1.csv", seed=1),
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    warnings.simplefilter("ignore")
    table = load_table(args.table)
    main, seed0 = compare(table, args.strategies, args.seeds, args.queries)
    result: dict[str, Any] = {
        "objectives": dict(OBJECTIVES),
        "queries": args.queries,
        "seeds": args.seeds,
        "reference_point": [REFERENCE, REFERENCE],
        **main,
    }
    if args.plot is not None:
        _plot(table, true_front(table), seed0, args.plot)
        result["plot"] = str(args.plot)
    if args.other_seeds > 0:
        result["other_tables"] = {}
        with tempfile.TemporaryDirectory(prefix="nasforge-mo-tables-") as folder:
            for other in other_tables(Path(folder), table):
                row, _ = compare(other, args.strategies, args.other_seeds, args.queries)
                row["table"] = Path(other.path).stem
                result["other_tables"][row["table"]] = row
    return result


def _plot(
    table: BenchmarkTable, front: np.ndarray, fronts: dict[str, np.ndarray], path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = _points(table, range(len(table)))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(points[:, 1], points[:, 0], s=2, c="0.85", label="table")
    order = np.argsort(front[:, 1])
    ax.step(front[order, 1], front[order, 0], where="post", c="k", lw=1, label="true front")
    for name, own in fronts.items():
        order = np.argsort(own[:, 1])
        ax.step(own[order, 1], own[order, 0], where="post", lw=1.2, marker="o", ms=3, label=name)
    low = min(float(front[:, 0].min()), *(float(own[:, 0].min()) for own in fronts.values()))
    ax.set_ylim(low - 3, float(front[:, 0].max()) + 1.5)  # the fronts, not the table's tail
    ax.set_xlabel("params_m (min)")
    ax.set_ylabel("val_acc_12 (max)")
    ax.set_title("Fronts after the search, seed 0")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def latency_part(trials: int, epochs: int, seed: int = 0) -> dict[str, Any]:
    """A search on MNIST-1D for accuracy against measured CPU latency, its front re-measured."""
    import tempfile

    from scipy.stats import spearmanr

    import nasforge as nf
    from nasforge.estimation.base import TrialContext
    from nasforge.estimation.cost import CostEvaluator
    from nasforge.estimation.train import TrainEvaluator

    space = nf.create_space("chain", max_layers=6, channels=16)
    with tempfile.TemporaryDirectory(prefix="nasforge-mo-") as folder:
        exp = nf.Experiment(
            space,
            strategy="mo-regularized-evolution",
            evaluator=TrainEvaluator("mnist1d", epochs=epochs, threads=2, measures=[LATENCY]),
            objectives={"val_acc": "max", "latency_ms": "min"},
            storage=f"sqlite:///{folder}/latency.db",
            name="latency",
            seed=seed,
        )
        began = time.perf_counter()
        exp.run(max_trials=trials, progress=False)
        seconds = time.perf_counter() - began
        front = sorted(exp.pareto_front(), key=lambda t: t.metrics["latency_ms"])
        again = CostEvaluator(measures=[LATENCY], dataset="mnist1d")
        rows = []
        for trial in front:
            measured = again.evaluate(trial.arch, TrialContext(seed=trial.seed, space=space))
            rows.append(
                {
                    "trial": trial.number,
                    "val_acc": trial.metrics["val_acc"],
                    "test_acc": trial.metrics.get("test_acc"),
                    "latency_ms": round(trial.metrics["latency_ms"], 4),
                    "latency_iqr_ms": round(trial.metrics["latency_iqr_ms"], 4),
                    "remeasured_ms": round(measured["latency_ms"], 4),
                    "remeasured_iqr_ms": round(measured["latency_iqr_ms"], 4),
                }
            )
        latencies = [t.metrics["latency_ms"] for t in exp.trials("complete")]
    rho = None
    if len(rows) >= 3:
        rho = float(
            spearmanr([r["latency_ms"] for r in rows], [r["remeasured_ms"] for r in rows])[0]
        )
    gaps = np.diff([r["remeasured_ms"] for r in rows]) if len(rows) > 1 else np.zeros(0)
    return {
        "space": "chain (max_layers 6, channels 16)",
        "trials": trials,
        "epochs": epochs,
        "seconds": round(seconds, 1),
        "latency_range_ms": [round(min(latencies), 4), round(max(latencies), 4)],
        "front": rows,
        "front_spearman_rho": None if rho is None else round(rho, 3),
        "front_min_gap_ms": round(float(gaps.min()), 4) if gaps.size else None,
        "front_max_iqr_ms": round(max(r["remeasured_iqr_ms"] for r in rows), 4) if rows else None,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="NAS-Bench-201-form CSV with params_m")
    parser.add_argument("--seeds", type=int, default=30, help="seeds per strategy (30)")
    parser.add_argument("--queries", type=int, default=100, help="distinct archs per search (100)")
    parser.add_argument(
        "--strategies",
        default=",".join(DEFAULT_STRATEGIES),
        help=f"comma-separated; {DIRECT} is Optuna's NSGA-II driven directly; "
        f"{', '.join(VARIANTS)} are reinforce with MONAS's rewards",
    )
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG of seed 0's fronts")
    parser.add_argument(
        "--other-seeds", type=int, default=10, help="seeds on the other tables (10; 0: skip)"
    )
    parser.add_argument("--no-latency", action="store_true", help="skip the MNIST-1D part")
    parser.add_argument("--latency-trials", type=int, default=24, help="MNIST-1D trials (24)")
    parser.add_argument("--latency-epochs", type=int, default=3, help="MNIST-1D epochs (3)")
    parser.add_argument("--no-moasha", action="store_true", help="skip the MOASHA part")
    parser.add_argument("--moasha-seeds", type=int, default=10, help="MOASHA seeds (10)")
    parser.add_argument("--moasha-strategy", default="optuna:nsga2", help="MOASHA's strategy")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 seeds x 30 queries")
    args = parser.parse_args(argv)
    args.strategies = [s for s in args.strategies.split(",") if s]
    args.moasha_queries = (100,)
    if args.quick:
        args.seeds, args.queries, args.other_seeds = 2, 30, 0
        args.latency_trials, args.latency_epochs = 4, 1
        args.moasha_seeds, args.moasha_queries = 1, (20,)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = run(args)
    if not args.no_moasha:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _moasha_part import moasha_vs_full

        result["moasha"] = moasha_vs_full(
            args.table, range(args.moasha_seeds), args.moasha_queries, args.moasha_strategy
        )
        print(f"moasha {result['moasha']}", file=sys.stderr, flush=True)
    if not args.no_latency:
        result["latency"] = latency_part(args.latency_trials, args.latency_epochs)
        print(f"latency {result['latency']}", file=sys.stderr, flush=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
