"""Random search vs regularized evolution on the NAS-Bench-201 CIFAR-10 table.

Runs the protocol of :mod:`nasforge.bench.nb201` (search on ``val_acc_12``, one query per
distinct arch, report the ``test_acc_200`` of the best arch by ``val_acc_12``), prints a table of
mean ± std per strategy and query count and each strategy's overhead, writes a plot, and prints
one JSON object as its last line, in the form ``run_nb201`` returns.

Usage:
    python benchmarks/nb201_strategies.py                  # 50 seeds x 25/50/100/200 queries
    python benchmarks/nb201_strategies.py --quick          # 3 seeds x 25/50 queries (smoke run)
    python benchmarks/nb201_strategies.py --table my.csv --repeats 20 --plot out.png
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nasforge.bench import NB201Result, nb201_traces

DEFAULT_STRATEGIES = ("random", "regularized-evolution")
DEFAULT_QUERIES = (25, 50, 100, 200)
DEFAULT_PLOT = Path(__file__).resolve().parent / "nb201_strategies.png"
QUICK_REPEATS, QUICK_QUERIES = 3, (25, 50)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="NAS-Bench-201-form CSV (default: shipped)")
    parser.add_argument("--repeats", type=int, default=50, help="seeds per strategy (default 50)")
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=list(DEFAULT_STRATEGIES),
        help="strategy names, space- or comma-separated (default: random regularized-evolution)",
    )
    parser.add_argument(
        "--queries", nargs="+", type=int, default=list(DEFAULT_QUERIES), help="query counts"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_REPEATS} seeds x {'/'.join(map(str, QUICK_QUERIES))} queries",
    )
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG path to write")
    parser.add_argument("--progress", action="store_true", help="progress bar on stderr")
    args = parser.parse_args(argv)
    args.strategies = [s for item in args.strategies for s in item.split(",") if s]
    if args.quick:
        args.repeats, args.queries = QUICK_REPEATS, list(QUICK_QUERIES)
    return args


def report_lines(result: NB201Result, seconds: float) -> list[str]:
    """The human-readable report: table, optimum and per-strategy overhead."""
    summary = result.summary()
    width = max(len(s) for s in summary) + 2
    head = "".join(f"{q:>16}" for q in result.queries)
    lines = [
        f"NAS-Bench-201 protocol on {result.table}: {result.repeats} seeds, "
        f"test_acc_200 of the best arch by val_acc_12 (mean ± population std)",
        f"{'strategy':<{width}}{head}",
    ]
    for strategy, by_q in summary.items():
        cells = "".join(
            f"{by_q[str(q)]['mean']:>9.2f} ± {by_q[str(q)]['std']:.2f}" for q in result.queries
        )
        lines.append(f"{strategy:<{width}}{cells}")
    lines.append(
        f"optimum (best test_acc_200) {result.optimum:.2f}; "
        f"best arch by val_acc_12 has test_acc_200 {result.best_by_val:.2f}"
    )
    top = max(result.queries)
    for strategy, traces in result.traces.items():
        asks = sum(t.asks for t in traces)
        lines.append(
            f"overhead {strategy}: {result.seconds_per_ask(strategy) * 1e6:.1f} µs per ask+tell "
            f"pair ({asks} asks for {len(traces)} searches of {top} queries)"
        )
    lines.append(f"wall time {seconds:.1f} s")
    return lines


def plot(result: NB201Result, path: Path) -> None:
    """Mean test accuracy (± std band) against queries per strategy, with the optimum."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    top = max(result.queries)
    x = np.arange(1, top + 1)
    first = min(result.queries)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    low = result.optimum
    for strategy in result.traces:
        mean, std = result.curve(strategy, top)
        (line,) = ax.plot(x, mean, label=strategy, linewidth=1.6)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.18, lw=0)
        marks = np.asarray(result.queries) - 1
        ax.plot(x[marks], mean[marks], "o", color=line.get_color(), markersize=4)
        low = min(low, float((mean - std)[first - 1 :].min()))
    ax.axhline(
        result.optimum,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"optimum ({result.optimum:.2f})",
    )
    ax.set_xlim(first * 0.8, top * 1.02)
    ax.set_ylim(low - 0.2, result.optimum + 0.2)
    ax.set_xlabel("queries (distinct architectures)")
    ax.set_ylabel("test accuracy, 200 epochs (%)")
    ax.set_title(f"NAS-Bench-201 table, {result.repeats} seeds (mean ± std)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    result = nb201_traces(
        args.strategies, args.queries, args.repeats, table=args.table, progress=args.progress
    )
    seconds = time.perf_counter() - start
    for line in report_lines(result, seconds):
        print(line)
    plot(result, args.plot)
    print(f"plot written to {args.plot}")
    print(result.to_json())
    return 0


if __name__ == "__main__":
    from nasforge.errors import NasforgeError

    try:
        sys.exit(main())
    except NasforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
