"""Every multi-trial strategy on the NAS-Bench-201 CIFAR-10 table, in one run.

Runs the protocol of :mod:`nasforge.bench.nb201` (search on ``val_acc_12``, one query per
distinct arch, report the ``test_acc_200`` of the best arch by ``val_acc_12``) for every
registered strategy that can search a cell space (or those named), prints a Markdown table of
mean ± std per strategy and query count with each strategy's overhead (seconds per ask + tell,
over the whole search and over its last 20 pairs, where a surrogate is slowest), writes one
plot, and prints one JSON object as its last line, in the form ``run_nb201`` returns.

A strategy whose overhead makes 50 seeds impractical on a 2-core machine runs fewer
(``--repeats-for``; by default ``optuna:gp``, whose Gaussian process refits on every ask, runs
10 seeds); the ``seeds`` column and the ``runs`` field of the JSON cells say how many.

Usage:
    python benchmarks/nb201_strategies.py                  # all, 50 seeds x 25/50/100/200
    python benchmarks/nb201_strategies.py --quick          # 3 seeds x 25/50 queries (smoke run)
    python benchmarks/nb201_strategies.py --strategies random,pnas --repeats 20 --plot out.png
    python benchmarks/nb201_strategies.py --traces runs/traces   # reuse traces a run left there
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nasforge.bench import NB201Result, NB201Trace, nb201_traces
from nasforge.errors import ConfigError
from nasforge.estimation.tabular import BenchmarkTable, load_table
from nasforge.strategies import create_strategy, list_strategies

DEFAULT_QUERIES = (25, 50, 100, 200)
DEFAULT_PLOT = Path(__file__).resolve().parent / "nb201_strategies.png"
QUICK_REPEATS, QUICK_QUERIES = 3, (25, 50)
QUICK_STRATEGIES = ("random", "regularized-evolution")
#: strategies too slow for the full number of seeds, and the seeds they get by default
DEFAULT_REPEATS_FOR = {"optuna:gp": 10}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="NAS-Bench-201-form CSV (default: shipped)")
    parser.add_argument("--repeats", type=int, default=50, help="seeds per strategy (default 50)")
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=None,
        help="strategy names, space- or comma-separated (default: every registered strategy "
        "that searches a cell space)",
    )
    parser.add_argument(
        "--repeats-for",
        nargs="+",
        default=None,
        metavar="NAME=SEEDS",
        help="fewer seeds for slow strategies (default: optuna:gp=10)",
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
    parser.add_argument(
        "--traces",
        type=Path,
        default=None,
        help="folder caching each strategy's traces (JSON); a later run with the same table, "
        "seeds and largest query count reads them back instead of searching again",
    )
    parser.add_argument("--progress", action="store_true", help="progress bar on stderr")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for the surrogates (default 1: small models, and several "
        "threads spin-wait when other work shares the cores)",
    )
    args = parser.parse_args(argv)
    if args.strategies is not None:
        args.strategies = [s for item in args.strategies for s in item.split(",") if s]
    if args.quick:
        args.repeats, args.queries = QUICK_REPEATS, list(QUICK_QUERIES)
        args.strategies = args.strategies or list(QUICK_STRATEGIES)
    args.repeats_for = _repeats_for(args.repeats_for)
    return args


def _repeats_for(items: Sequence[str] | None) -> dict[str, int]:
    if items is None:
        return dict(DEFAULT_REPEATS_FOR)
    out = {}
    for item in (part for text in items for part in text.split(",") if part):
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"--repeats-for: expected NAME=SEEDS with SEEDS >= 1, got {item!r}")
        out[name] = int(count)
    return out


def cell_strategies(table: BenchmarkTable) -> list[str]:
    """Every registered strategy that accepts the table's cell space (CMA-ES refuses it)."""
    names = []
    for name in list_strategies():
        try:
            create_strategy(name, table.space(), seed=0)
        except ConfigError:
            continue
        names.append(name)
    return names


def run(args: argparse.Namespace) -> NB201Result:
    """Each strategy with its number of seeds, gathered into one result."""
    table = load_table(args.table)
    names = args.strategies or cell_strategies(table)
    traces: dict[str, tuple[NB201Trace, ...]] = {}
    for name in names:
        repeats = min(args.repeats, args.repeats_for.get(name, args.repeats))
        cached = _cached(args.traces, table, name, repeats, max(args.queries))
        if cached is not None:
            traces[name] = cached
            continue
        part = nb201_traces([name], args.queries, repeats, table=table, progress=args.progress)
        traces.update(part.traces)
        _cache(args.traces, table, name, part.traces[name], max(args.queries))
    return NB201Result(
        table=str(table.path),
        queries=tuple(args.queries),
        repeats=args.repeats,
        optimum=table.optimum,
        best_by_val=table.best_by_val(),
        traces=traces,
    )


def _cache_file(folder: Path, table: BenchmarkTable, name: str, repeats: int, top: int) -> Path:
    safe = name.replace(":", "_").replace("/", "_")
    return folder / f"{Path(str(table.path)).stem}-{safe}-{repeats}seeds-{top}q.json"


def _cached(
    folder: Path | None, table: BenchmarkTable, name: str, repeats: int, top: int
) -> tuple[NB201Trace, ...] | None:
    """The stored traces of ``name`` for this table, seeds and budget, if a run left them."""
    if folder is None:
        return None
    path = _cache_file(folder, table, name, repeats, top)
    if not path.exists():
        return None
    print(f"{name}: traces read from {path}")
    return tuple(NB201Trace.from_json(t) for t in json.loads(path.read_text()))


def _cache(
    folder: Path | None,
    table: BenchmarkTable,
    name: str,
    traces: Sequence[NB201Trace],
    top: int,
) -> None:
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = _cache_file(folder, table, name, len(traces), top)
    path.write_text(json.dumps([t.to_json() for t in traces]))


def report_lines(result: NB201Result, seconds: float) -> list[str]:
    """The human-readable report: a Markdown table with each strategy's overhead."""
    summary = result.summary()
    head = " | ".join(f"{q} queries" for q in result.queries)
    lines = [
        f"NAS-Bench-201 protocol on {result.table}: test_acc_200 of the best arch by val_acc_12, "
        f"mean ± population std over the seeds",
        "",
        f"| strategy | seeds | {head} | ms per ask+tell | ms per ask+tell, last 20 |",
        "| --- | --- |" + " --- |" * len(result.queries) + " --- | --- |",
    ]
    for strategy, by_q in summary.items():
        cells = " | ".join(
            f"{by_q[str(q)]['mean']:.2f} ± {by_q[str(q)]['std']:.2f}" for q in result.queries
        )
        runs = by_q[str(result.queries[0])]["runs"]
        mean_ms = result.seconds_per_ask(strategy) * 1e3
        end_ms = result.seconds_per_ask_at_end(strategy) * 1e3
        lines.append(f"| {strategy} | {runs} | {cells} | {mean_ms:.3g} | {end_ms:.3g} |")
    lines += [
        "",
        f"optimum (best test_acc_200) {result.optimum:.2f}; "
        f"best arch by val_acc_12 has test_acc_200 {result.best_by_val:.2f}",
    ]
    for strategy in result.traces:
        lines.append(
            f"overhead {strategy}: {result.seconds_per_ask(strategy) * 1e6:.1f} µs per ask+tell "
            f"pair on average, {result.seconds_per_ask_at_end(strategy) * 1e6:.1f} µs over the "
            f"last 20 pairs of each search"
        )
    lines.append(f"wall time {seconds:.1f} s")
    return lines


def plot(result: NB201Result, path: Path) -> None:
    """Mean test accuracy against queries per strategy (± std band for a few), with the optimum."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    top = max(result.queries)
    x = np.arange(1, top + 1)
    first = min(result.queries)
    many = len(result.traces) > 4
    fig, ax = plt.subplots(figsize=(8.0, 5.0) if many else (6.4, 4.0), dpi=100)
    colours = plt.get_cmap("tab20" if many else "tab10")
    low = result.optimum
    for i, strategy in enumerate(result.traces):
        mean, std = result.curve(strategy, top)
        style = ("-", "--", ":", "-.")[i // 10 % 4] if many else "-"
        (line,) = ax.plot(x, mean, style, label=strategy, linewidth=1.5, color=colours(i))
        if not many:  # bands of a dozen strategies would hide each other
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.18, lw=0)
        marks = np.asarray(result.queries) - 1
        ax.plot(x[marks], mean[marks], "o", color=line.get_color(), markersize=3.5)
        low = min(low, float((mean if many else mean - std)[first - 1 :].min()))
    ax.axhline(
        result.optimum,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"optimum ({result.optimum:.2f})",
    )
    ax.set_xscale("log" if many else "linear")
    ax.set_xlim(first * 0.8, top * 1.05)
    ax.set_ylim(low - 0.2, result.optimum + 0.1)
    ax.set_xlabel("queries (distinct architectures)")
    ax.set_ylabel("test accuracy, 200 epochs (%)")
    ax.set_title(f"NAS-Bench-201 table, mean over {result.repeats} seeds")
    ax.grid(alpha=0.3)
    if many:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    else:
        ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    start = time.perf_counter()
    result = run(args)
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
