"""Does a searched recurrent cell beat the LSTM and the GRU at the same size?

For each task (the adding problem at length 100, MNIST-1D read as 40 steps, character-level
language modelling on the Python standard library's sources), a search over the ``rnn-cell``
space (``--strategy``, default regularized evolution with population 8 and tournament 3, from
random cells, or with ``--seed-cells lstm,gru`` from the reference cells as Jozefowicz et al.
started) of ``--trials`` cells, each trained briefly (the *search recipe*), picks the
cell with the best validation score. That cell, the LSTM (forget-gate bias 1) and the GRU are
then trained with the *final recipe* at the same parameter count (``SequenceEvaluator(params=
...)`` picks each cell's hidden size), over ``--seeds`` training seeds each, and scored on the
test split: test MSE (adding), test accuracy (MNIST-1D), test bits per character (chars).

Every cell's hidden size is at most ``--max-hidden`` (256): a cell with few weights would
need a state thousands wide to reach the parameter budget, and train many times slower; such a
cell is reported with fewer parameters than the budget (the table's ``params``).

Recipes (both Adam, lr 3e-3, cosine schedule, gradient norm clipped to 1, batch 64, one
layer): search with ``--search-epochs`` epochs on ``--search-samples`` sequences; final with
``--epochs`` epochs on ``--final-samples`` sequences (default: the task's, 2,000 or 3,200).

    python benchmarks/recurrent.py                       # defaults: 16 trials, 8 epochs
    python benchmarks/recurrent.py --tasks chars,mnist1d,adding --trials 20 \
        --search-samples 1000 --search-epochs 3 --epochs 15 --seed-cells lstm,gru \
        --plot benchmarks/recurrent_cells.png            # what BENCHMARKS.md reports
    python benchmarks/recurrent.py --tasks chars --trials 30
    python benchmarks/recurrent.py --quick               # smoke run: tiny tasks, 3 trials

The last line is one JSON object ``{"<task>": {"metric": ..., "found": <key>, "found_mean":
..., "found_std": ..., "lstm_mean": ..., ..., "params": {...}}, ..., "beats_lstm_on": [...]}``.
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

#: per task: the evaluator's options for both recipes, the searched metric and its
#: direction, the reported test metric, and the parameter budget every cell is matched to
TASKS: dict[str, dict[str, Any]] = {
    "adding": {
        "options": {"task": "adding", "length": 100},
        "objective": ("val_mse", "min"),
        "test": "test_mse",
        "params": 5000,
    },
    "mnist1d": {
        "options": {"task": "mnist1d"},
        "objective": ("val_acc", "max"),
        "test": "test_acc",
        "params": 5000,
    },
    "chars": {
        "options": {"task": "chars", "length": 64},
        "objective": ("val_bpc", "min"),
        "test": "test_bpc",
        "params": 20000,
    },
}
#: the tiny versions ``--quick`` runs
QUICK: dict[str, dict[str, Any]] = {
    "adding": {"length": 20, "samples": 64},
    "mnist1d": {"samples": 64},
    "chars": {"length": 16, "samples": 64},
}
REFERENCES = ("lstm", "gru")


def search(task: str, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The best cell of a search on ``task`` (by the searched validation metric).

    The strategy is driven ask by ask in this process; with ``--seed-cells``, those reference
    cells are trained and told first (they count in ``--trials``), as Jozefowicz et al. 2015
    started their evolution from the LSTM and the GRU.
    """
    from nasforge.estimation import TrialContext
    from nasforge.objectives import Objectives
    from nasforge.spaces.rnn_cell import RnnCellSpace
    from nasforge.strategies import create_strategy
    from nasforge.trial import Trial, TrialStatus

    spec = TASKS[task]
    space = RnnCellSpace(nodes=args.nodes)
    evaluator = recipe(task, args, args.search_epochs, args.search_samples)
    metric, direction = spec["objective"]
    objectives = Objectives.parse({metric: direction})
    strategy_options = (
        {"population_size": 8, "sample_size": 3} if args.strategy == "regularized-evolution" else {}
    )
    strategy = create_strategy(
        args.strategy, space, seed=args.seed, objectives=objectives, **strategy_options
    )
    seeds = [space.reference(name) for name in args.seed_cells.split(",") if name]
    started = time.perf_counter()
    trials: list[Any] = []
    for number in range(args.trials):
        arch = seeds[number] if number < len(seeds) else strategy.ask()
        ctx = TrialContext(number=number, seed=args.seed + number, space=space)
        try:
            metrics = evaluator.evaluate(arch, ctx)
        except FloatingPointError as exc:  # a diverged cell: failed, the search goes on
            strategy.tell(Trial(number, arch, TrialStatus.FAILED, error=str(exc)))
            continue
        trial = Trial(
            number, arch, TrialStatus.COMPLETE, metrics, scores=objectives.scores(metrics)
        )
        strategy.tell(trial)
        trials.append(trial)
    best = max(trials, key=lambda t: (t.score, -t.number))
    info = {
        "search_trials": len(trials),
        "seeded_with": [a.key for a in seeds],
        "search_s": round(time.perf_counter() - started, 1),
        "search_best_val": round(best.metrics[metric], 4),
    }
    return best.arch, info


def final(task: str, arch: Any, args: argparse.Namespace) -> tuple[list[float], int]:
    """Test scores of ``arch`` over the seeds with the final recipe, and its parameter count."""
    from nasforge.estimation import TrialContext
    from nasforge.spaces.rnn_cell import RnnCellSpace

    spec = TASKS[task]
    space = RnnCellSpace(nodes=args.nodes)
    evaluator = recipe(task, args, args.epochs, args.final_samples)
    scores, params = [], 0
    for seed in range(args.seeds):
        metrics = evaluator.evaluate(arch, TrialContext(space=space, seed=seed))
        scores.append(metrics[spec["test"]])
        params = int(metrics["params"])
    return scores, params


def run_task(task: str, args: argparse.Namespace) -> dict[str, Any]:
    from nasforge.spaces._cell_genome import cell_mermaid
    from nasforge.spaces.rnn_cell import RnnCellSpace

    space = RnnCellSpace(nodes=args.nodes)
    found, info = search(task, args)
    row: dict[str, Any] = {"metric": TASKS[task]["test"], "found": found.key, **info}
    params: dict[str, int] = {}
    started = time.perf_counter()
    for name, arch in (("found", found), *((r, space.reference(r)) for r in REFERENCES)):
        scores, params[name] = final(task, arch, args)
        row[f"{name}_mean"] = round(float(np.mean(scores)), 4)
        row[f"{name}_std"] = round(float(np.std(scores)), 4) if len(scores) > 1 else None
    row["params"] = params
    row["final_s"] = round(time.perf_counter() - started, 1)
    row["drawing"] = cell_mermaid(space.cell(found))
    print(f"{task:8s} {json.dumps({k: v for k, v in row.items() if k != 'drawing'})}",
          file=sys.stderr, flush=True)  # fmt: skip
    return row


def recipe(task: str, args: argparse.Namespace, epochs: int, samples: int | None) -> Any:
    """The evaluator of ``task`` at the parameter budget: the search's recipe or the final one
    (``samples`` replaces the task's sequence count unless ``--quick`` or ``None``)."""
    from nasforge.estimation.sequence import SequenceEvaluator

    spec = TASKS[task]
    options = {**spec["options"], **(QUICK[task] if args.quick else {})}
    if samples is not None and not args.quick:
        options["samples"] = samples
    return SequenceEvaluator(
        **options,
        epochs=epochs,
        params=spec["params"],
        max_hidden=args.max_hidden,
        threads=1,
        device="cpu",
    )


def beats(row: dict[str, Any], task: str) -> bool:
    """Whether the found cell's mean test score is better than the LSTM's by more than the two
    spreads together and by at least 1% of the LSTM's score (a lead inside the seeds' noise,
    or two cells that both predict the mean of the adding problem, is not a win)."""
    lower_is_better = TASKS[task]["objective"][1] == "min"
    found, lstm = row["found_mean"], row["lstm_mean"]
    spreads = (row.get("found_std") or 0.0) + (row.get("lstm_std") or 0.0)
    margin = max(spreads, 0.01 * abs(lstm))
    return bool(found < lstm - margin if lower_is_better else found > lstm + margin)


def plot_cells(result: dict[str, Any], path: Path, nodes: int = 10) -> None:
    """Draw each task's found cell (``x``, ``h``, ``c`` are nodes 0, 1, 2) into one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasforge.spaces.rnn_cell import RnnCellSpace
    from nasforge.viz.cell import cell_aspect, draw_cell

    space = RnnCellSpace(nodes=nodes)
    tasks = [t for t in TASKS if t in result]
    graphs = [space.cell_graph(space.parse(result[t]["found"])) for t in tasks]
    heights = [12 * cell_aspect(g) for g in graphs]
    fig, axes = plt.subplots(len(graphs), 1, figsize=(12, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})  # fmt: skip
    for ax, task, graph in zip(axes[:, 0], tasks, graphs, strict=True):
        draw_cell(ax, graph, f"{task}: {result[task]['found']}")
    fig.savefig(path, dpi=80, bbox_inches="tight")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="adding, mnist1d, chars")
    parser.add_argument("--strategy", default="regularized-evolution", help="search strategy")
    parser.add_argument("--trials", type=int, default=16, help="cells trained per search (16)")
    parser.add_argument("--search-epochs", type=int, default=2, help="epochs per search trial")
    parser.add_argument("--search-samples", type=int, default=1000, help="search sequences")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the final recipe (8)")
    parser.add_argument(
        "--final-samples", type=int, default=None, help="final sequences (task default)"
    )
    parser.add_argument(
        "--max-hidden", type=int, default=256, help="widest hidden size (256; see below)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per cell (3)")
    parser.add_argument("--nodes", type=int, default=10, help="rnn-cell nodes (10)")
    parser.add_argument(
        "--seed-cells", default="", help="reference cells told first, e.g. lstm,gru (none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="search seed")
    parser.add_argument("--plot", type=Path, default=None, help="draw the found cells (PNG)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny tasks, 3 trials")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.search_epochs, args.epochs, args.seeds = 3, 1, 1, 1
    names = [n for n in args.tasks.split(",") if n]
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        parser.error(f"--tasks: unknown {unknown[0]!r}; allowed: {', '.join(TASKS)}")
    warnings.simplefilter("ignore")
    result: dict[str, Any] = {}
    for name in names:
        result[name] = run_task(name, args)
    result["beats_lstm_on"] = [name for name in names if beats(result[name], name)]
    if args.plot is not None:
        plot_cells(result, args.plot, args.nodes)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
