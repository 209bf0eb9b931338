"""The NAS-Bench-201 protocol: how well does a strategy search a tabulated cell space?

A strategy searches the table's cell space on ``val_acc_12`` (the cheap 12-epoch validation
accuracy). Each *distinct* architecture counts as one query; an arch asked again is told its known
result at no cost. The result after ``Q`` queries is the ``test_acc_200`` of the architecture with
the best ``val_acc_12`` among the first ``Q`` queries (the first one seen on a tie). One search runs
per (strategy, seed) up to the largest ``Q``, and every ``Q`` is read off its trace; seeds are
``0 .. repeats - 1``.

This module imports no torch, so ``nasforge bench`` starts fast.

Example:
    >>> result = run_nb201(["random"], queries=[10, 20], repeats=2)
    >>> sorted(result["random"]), result["random"]["10"]["runs"]
    (['10', '20'], 2)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import ConfigError, NasforgeError
from nasforge.estimation.tabular import BenchmarkTable, load_table
from nasforge.strategies import STRATEGIES, create_strategy
from nasforge.trial import Trial, TrialStatus

#: a search stops after this many asks in a row that brought no new arch of the table
STALE_ASKS = 1000

Summary = dict[str, dict[str, dict[str, float]]]


@dataclass(frozen=True)
class NB201Trace:
    """One search of one strategy with one seed.

    Attributes:
        strategy: the strategy's registered name.
        seed: its seed.
        keys: the distinct archs queried, in order.
        val_acc_12: ``val_acc_12`` of each query.
        test_acc_200: ``test_acc_200`` of each query.
        result: ``result[q - 1]`` is the protocol's result after ``q`` queries.
        asks: every ``ask`` made, repeats and archs missing from the table included.
        strategy_seconds: time spent inside the strategy's ``ask`` and ``tell``.
        pair_seconds: that time per ``ask`` + ``tell`` pair, in order (how the overhead grows
            with the trials told).
        stop: why the search ended: ``"budget"`` (enough queries), ``"exhausted"`` (every arch
            of the table queried) or ``"stale"`` (:data:`STALE_ASKS` asks in a row without a
            new arch of the table).
    """

    strategy: str
    seed: int
    keys: tuple[str, ...]
    val_acc_12: np.ndarray
    test_acc_200: np.ndarray
    result: np.ndarray
    asks: int
    strategy_seconds: float
    stop: str
    pair_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def queries(self) -> int:
        return len(self.keys)

    def at(self, queries: int) -> float:
        """The result after ``queries`` queries; a search that stopped earlier keeps its last."""
        if not len(self.result):
            raise NasforgeError(
                f"strategy {self.strategy!r} (seed {self.seed}) queried no arch of the table"
            )
        return float(self.result[min(queries, len(self.result)) - 1])

    @property
    def seconds_per_ask(self) -> float:
        """Strategy overhead: seconds per ``ask`` + ``tell`` pair."""
        return self.strategy_seconds / max(self.asks, 1)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_json` turns back into the same trace."""
        return {
            "strategy": self.strategy,
            "seed": self.seed,
            "keys": list(self.keys),
            "val_acc_12": self.val_acc_12.tolist(),
            "test_acc_200": self.test_acc_200.tolist(),
            "result": self.result.tolist(),
            "asks": self.asks,
            "strategy_seconds": self.strategy_seconds,
            "stop": self.stop,
            "pair_seconds": self.pair_seconds.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NB201Trace:
        def array(key: str) -> np.ndarray:
            return np.asarray(data[key], dtype=np.float64)

        return cls(
            strategy=str(data["strategy"]),
            seed=int(data["seed"]),
            keys=tuple(data["keys"]),
            val_acc_12=array("val_acc_12"),
            test_acc_200=array("test_acc_200"),
            result=array("result"),
            asks=int(data["asks"]),
            strategy_seconds=float(data["strategy_seconds"]),
            stop=str(data["stop"]),
            pair_seconds=array("pair_seconds"),
        )


@dataclass(frozen=True)
class NB201Result:
    """Every trace of a benchmark run, with the summary :func:`run_nb201` returns.

    Attributes:
        table: the path of the table searched.
        queries: the query counts reported, in the order asked for.
        repeats: seeds per strategy.
        optimum: the best ``test_acc_200`` of the table.
        best_by_val: the ``test_acc_200`` of the table's best arch by ``val_acc_12``.
        traces: ``{strategy: (trace of seed 0, trace of seed 1, ...)}``.
    """

    table: str
    queries: tuple[int, ...]
    repeats: int
    optimum: float
    best_by_val: float
    traces: Mapping[str, tuple[NB201Trace, ...]] = field(default_factory=dict)

    def values(self, strategy: str, queries: int) -> np.ndarray:
        """The result of each seed of ``strategy`` after ``queries`` queries."""
        return np.asarray([t.at(queries) for t in self._traces(strategy)], dtype=np.float64)

    def curve(self, strategy: str, max_queries: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and population std over seeds after ``1 .. max_queries`` queries (for plots)."""
        top = max_queries or max(self.queries)
        runs = np.asarray(
            [[t.at(q) for q in range(1, top + 1)] for t in self._traces(strategy)],
            dtype=np.float64,
        )
        return runs.mean(axis=0), runs.std(axis=0, ddof=0)

    def seconds_per_ask(self, strategy: str) -> float:
        """Mean strategy overhead, seconds per ``ask`` + ``tell`` pair, over all seeds."""
        traces = self._traces(strategy)
        asks = sum(t.asks for t in traces)
        return sum(t.strategy_seconds for t in traces) / max(asks, 1)

    def seconds_per_ask_at_end(self, strategy: str, last: int = 20) -> float:
        """Mean seconds per ``ask`` + ``tell`` pair over the ``last`` pairs of each search:
        the overhead once the strategy has seen the whole budget (a surrogate that refits on
        every trial is slowest there)."""
        tails = [t.pair_seconds[-last:] for t in self._traces(strategy) if len(t.pair_seconds)]
        return float(np.concatenate(tails).mean()) if tails else float("nan")

    def summary(self) -> Summary:
        """``{strategy: {str(queries): {"mean", "std", "runs"}}}``; std is the population std."""
        out: Summary = {}
        for strategy in self.traces:
            out[strategy] = {}
            for q in self.queries:
                values = self.values(strategy, q)
                out[strategy][str(q)] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=0)),
                    "runs": len(values),
                }
        return out

    def to_json(self) -> str:
        """The summary as one line of JSON."""
        return json.dumps(self.summary())

    def _traces(self, strategy: str) -> tuple[NB201Trace, ...]:
        try:
            return self.traces[strategy]
        except KeyError:
            raise ConfigError(
                f"no results for strategy {strategy!r}; have {', '.join(self.traces)}"
            ) from None


def run_nb201(
    strategies: list[str],
    queries: list[int],
    repeats: int,
    table: str | Path | None = None,
    strategy_options: dict[str, dict] | None = None,
    progress: bool = False,
) -> Summary:
    """Run the NAS-Bench-201 protocol and return mean and std of the result per query count.

    Args:
        strategies: registered strategy names (see ``list_strategies()``).
        queries: query counts to report, e.g. ``[25, 50, 100, 200]``.
        repeats: seeds per strategy (``0 .. repeats - 1``).
        table: a NAS-Bench-201-form CSV table; ``None`` for the shipped CIFAR-10 table.
        strategy_options: keyword options per strategy name, e.g.
            ``{"regularized-evolution": {"population_size": 20}}``.
        progress: show a progress bar on stderr.

    Returns:
        ``{"<strategy>": {"<queries>": {"mean": ..., "std": ..., "runs": repeats}}}``, with
        ``std`` the population standard deviation over seeds (``ddof=0``). Use
        :func:`nb201_traces` for the per-seed traces.
    """
    return nb201_traces(strategies, queries, repeats, table, strategy_options, progress).summary()


def nb201_traces(
    strategies: Sequence[str],
    queries: Sequence[int],
    repeats: int,
    table: str | Path | BenchmarkTable | None = None,
    strategy_options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = False,
) -> NB201Result:
    """Like :func:`run_nb201`, but return every per-seed trace (:class:`NB201Result`)."""
    names, counts, repeats, options = _check_args(strategies, queries, repeats, strategy_options)
    loaded = table if isinstance(table, BenchmarkTable) else load_table(table)
    top = max(counts)
    traces: dict[str, tuple[NB201Trace, ...]] = {}
    with _progress_bar(progress, len(names) * repeats) as advance:
        for name in names:
            runs = []
            for seed in range(repeats):
                runs.append(search_nb201(name, loaded, seed, top, options.get(name)))
                advance(f"{name} seed {seed}")
            traces[name] = tuple(runs)
    return NB201Result(
        table=str(loaded.path),
        queries=counts,
        repeats=repeats,
        optimum=loaded.optimum,
        best_by_val=loaded.best_by_val(),
        traces=traces,
    )


def search_nb201(
    strategy: str,
    table: BenchmarkTable,
    seed: int,
    queries: int,
    options: Mapping[str, Any] | None = None,
    stale_asks: int = STALE_ASKS,
) -> NB201Trace:
    """One search of ``strategy`` with ``seed`` until ``queries`` distinct archs are queried.

    The strategy is told a ``complete`` trial with the table's metrics and
    ``scores=(val_acc_12,)`` for every ask (again for a repeat); an arch the table lacks (a
    partial table) is told as ``failed`` and costs no query.
    """
    searcher = create_strategy(strategy, table.space(), seed=seed, **dict(options or {}))
    rows: list[int] = []
    queried: set[int] = set()
    asks = stale = 0
    pairs: list[float] = []
    stop = "budget"
    while len(rows) < queries:
        if len(queried) == len(table):
            stop = "exhausted"
            break
        if stale >= stale_asks:
            stop = "stale"
            break
        start = time.perf_counter()
        arch = searcher.ask()
        pair = time.perf_counter() - start
        row = table.find(arch)
        if row is None:
            stale += 1
            trial = Trial(
                asks,
                arch,
                TrialStatus.FAILED,
                seed=seed,
                error=f"arch {arch.key!r} is not in table {str(table.path)!r}",
            )
        else:
            if row in queried:
                stale += 1
            else:
                stale = 0
                queried.add(row)
                rows.append(row)
            metrics = table.row(row)
            metrics = {
                "val_acc": metrics["val_acc_12"],
                "test_acc": metrics["test_acc_12"],
                **metrics,
            }
            trial = Trial(
                asks,
                arch,
                TrialStatus.COMPLETE,
                metrics,
                scores=(metrics["val_acc_12"],),
                seed=seed,
            )
        asks += 1
        start = time.perf_counter()
        searcher.tell(trial)
        pairs.append(pair + time.perf_counter() - start)
    index = np.asarray(rows, dtype=np.int64)
    val, test = table.val_acc_12[index], table.test_acc_200[index]
    return NB201Trace(
        strategy=strategy,
        seed=seed,
        keys=tuple(table.keys[i] for i in rows),
        val_acc_12=val,
        test_acc_200=test,
        result=_incumbent_result(val, test),
        asks=asks,
        strategy_seconds=float(sum(pairs)),
        stop=stop,
        pair_seconds=np.asarray(pairs, dtype=np.float64),
    )


def _incumbent_result(val: np.ndarray, test: np.ndarray) -> np.ndarray:
    """``out[q]``: ``test[i]`` of the first ``i <= q`` with the largest ``val[i]``."""
    out = np.empty_like(test)
    best = -np.inf
    current = np.nan
    for i, (v, t) in enumerate(zip(val, test, strict=True)):
        if v > best:
            best, current = v, t
        out[i] = current
    return out


def _check_args(
    strategies: Sequence[str],
    queries: Sequence[int],
    repeats: int,
    strategy_options: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[list[str], tuple[int, ...], int, dict[str, dict[str, Any]]]:
    if isinstance(strategies, str) or not strategies:
        raise ConfigError(f"strategies must be a non-empty list of names, got {strategies!r}")
    names = list(dict.fromkeys(strategies))
    for name in names:
        STRATEGIES.get(name)  # raises UnknownNameError listing the known ones
    if isinstance(queries, (int, str)) or not queries:
        raise ConfigError(f"queries must be a non-empty list of integers >= 1, got {queries!r}")
    for q in queries:
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 1:
            raise ConfigError(f"queries must be integers >= 1, got {q!r}")
    counts = tuple(dict.fromkeys(int(q) for q in queries))
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ConfigError(f"repeats must be an integer >= 1, got {repeats!r}")
    options = {k: dict(v) for k, v in (strategy_options or {}).items()}
    for name in options:
        if name not in names:
            raise ConfigError(
                f"strategy_options names strategy {name!r}, which is not benchmarked; "
                f"strategies: {', '.join(names)}"
            )
    return names, counts, int(repeats), options


@contextmanager
def _progress_bar(show: bool, total: int) -> Iterator[Any]:
    """Yield ``advance(description)``; a Rich bar on stderr when ``show``, else a no-op."""
    if not show:
        yield lambda description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("nas-bench-201", total=total)

        def advance(description: str) -> None:
            bar.update(task, advance=1, description=description)

        yield advance


__all__ = [
    "STALE_ASKS",
    "NB201Result",
    "NB201Trace",
    "nb201_traces",
    "run_nb201",
    "search_nb201",
]
