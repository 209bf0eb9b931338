"""Throughput of parallel search: trials per second with 1, 2 and 4 workers and with Ray.

The evaluator is the NAS-Bench-201 table lookup with an artificial per-trial delay (a sleep, so
the cores are not the limit: what is measured is how well the driver keeps workers busy and what
the store, the strategy and the executor cost per trial). Each mode runs the same
regularized-evolution search of ``--trials`` trials on a fresh SQLite file:

- ``serial``: in-process, one trial at a time;
- ``processes_N``: N local worker processes;
- ``ray_N``: N Ray tasks at once on a local Ray started for the run.

Workers are started before the clock starts (a one-off cost, reported as ``start_s``), so
``trials_per_s`` is the search's rate. The store's own cost is measured apart: the mean time of
the writes one trial makes (start, one intermediate report, finish) on a SQLite file. The last
line is one JSON object::

    {"serial": 0.99, "processes_2": 1.97, "processes_4": 3.9, "ray_4": 3.8,
     "store_ms_per_trial": ..., "delay_s": 1.0, "trials": 40, "details": {...}}

Usage:
    python benchmarks/parallel.py                 # 1-second trials, 40 per mode
    python benchmarks/parallel.py --modes serial processes_4 --trials 80
    python benchmarks/parallel.py --quick         # 0.05-second trials, 8 per mode, no Ray
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasforge.estimation.base import Evaluator, TrialContext
from nasforge.space import Arch

MODES = ("serial", "processes_1", "processes_2", "processes_4", "ray_4")


class DelayedEvaluator(Evaluator):
    """A benchmark table lookup that takes ``delay`` seconds (slept) per trial."""

    metric_names = ("val_acc", "test_acc")

    def __init__(self, inner: Evaluator, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        time.sleep(self.delay)
        return self.inner.evaluate(arch, ctx)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["serial", "processes_2", "processes_4", "ray_4"],
        choices=MODES,
    )
    parser.add_argument("--trials", type=int, default=40, help="trials per mode (default 40)")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds per trial (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 x 0.05 s, no Ray")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.delay = 8, 0.05
        args.modes = [m for m in args.modes if not m.startswith("ray")]
    return args


def run_mode(mode: str, trials: int, delay: float, folder: Path) -> dict[str, Any]:
    """One search in ``mode``; its rate, wall time and worker start time."""
    import nasforge as nf
    from nasforge.estimation import create_evaluator

    table = create_evaluator("tabular")
    evaluator = DelayedEvaluator(table, delay)
    exp = nf.Experiment(
        table.space(),
        strategy="regularized-evolution",
        evaluator=evaluator,
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{folder / f'{mode}.db'}",
        name=mode,
        seed=0,
    )
    kind, _, count = mode.partition("_")
    executor: Any = "local"
    start_s = 0.0
    if kind != "serial":
        from nasforge.execution import create_executor

        executor = create_executor(kind, int(count))
        begin = time.perf_counter()
        # processes: returns when all are ready; the run hands over its own decide callback
        executor.start(exp.evaluator, exp.space, lambda *_: False)
        start_s = time.perf_counter() - begin
    begin = time.perf_counter()
    exp.run(max_trials=trials, progress=False, executor=executor)
    wall = time.perf_counter() - begin
    done = [t for t in exp.trials() if t.status.finished]
    assert len(done) == trials, f"{mode}: {len(done)} of {trials} trials finished"
    return {
        "trials_per_s": trials / wall,
        "wall_s": wall,
        "start_s": start_s,
        "ideal_per_s": (int(count) if count else 1) / delay,
    }


def store_cost(trials: int, folder: Path) -> float:
    """Mean milliseconds of one trial's writes (start, one report, finish) on SQLite."""
    import numpy as np

    from nasforge.space import CellSpace
    from nasforge.storage import Storage
    from nasforge.trial import TrialStatus

    store = Storage(f"sqlite:///{folder / 'store.db'}")
    record = store.create_experiment("cost", 0, {"val_acc": "max"}, {})
    space = CellSpace(4, ["skip_connect", "nor_conv_3x3"])
    rng = np.random.default_rng(0)
    times = []
    for number in range(trials):
        arch = space.sample(rng)
        begin = time.perf_counter()
        store.start_trial(record.id, number, arch, number, ask_seq=number)
        store.report(record.id, number, 1, {"val_acc": 50.0})
        store.finish_trial(record.id, number, TrialStatus.COMPLETE, {"val_acc": 50.0}, (50.0,))
        times.append(time.perf_counter() - begin)
    return 1000 * statistics.median(times)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for mode in args.modes:
            details[mode] = run_mode(mode, args.trials, args.delay, folder)
            row = details[mode]
            print(
                f"{mode:12s} {row['trials_per_s']:6.2f} trials/s (ideal {row['ideal_per_s']:.2f})"
                f"  wall {row['wall_s']:6.1f} s  workers started in {row['start_s']:.1f} s",
                file=sys.stderr,
            )
        store_ms = store_cost(200 if not args.quick else 20, folder)
    result: dict[str, Any] = {mode: round(row["trials_per_s"], 3) for mode, row in details.items()}
    result.update(
        store_ms_per_trial=round(store_ms, 2),
        delay_s=args.delay,
        trials=args.trials,
        details=details,
    )
    print(f"store: {store_ms:.2f} ms per trial (start + report + finish)", file=sys.stderr)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
