"""A bounded kill-and-signal campaign against real searches: is anything lost, duplicated,
wrongly failed, left running, or hung?

Each run starts ``nasforge search`` (the real command, in a subprocess) on a small search whose
trials sleep (``FaultyEvaluator``: about ``--delay`` seconds each), injects one fault at a random
moment (seeded), waits for the driver to end (a driver fault hits ``--kills`` successive
drivers, each later one while the trial the last stop interrupted runs again), then runs the
same command again until the budget is spent, and checks the store:

- faults: the driver killed with SIGKILL, interrupted with SIGINT (Ctrl-C in a terminal: sent
  to the whole process group, workers included) or SIGTERM (the driver alone); with
  worker processes also a worker killed with SIGKILL mid-trial, and every worker killed as it
  starts (before it has loaded the evaluator); a first SIGINT or SIGTERM comes once the search
  has asked for its first trial, except ``driver-sigint-early``'s, 0.05-1.5 s after the
  driver starts (while it imports and opens the store: the command takes Ctrl-C from its
  first import on; only the interpreter's own start, before that, cannot); a SIGKILL at any
  moment from the start;
- executors: serial (in-process) and ``processes`` with 2 workers;
- counted over all runs (each must be 0): ``lost`` (asks of the budget without a finished
  trial), ``duplicated`` (asks answered twice, or finished trials of one ask), ``wrongly_failed``
  (the evaluator never fails, so every failed trial is wrong), ``left_running`` (trials still
  ``running`` after the final run; a trial stopped three times with ``max_retries: 2`` must not
  end ``failed``), ``hangs`` (a driver that did not exit within the liveness
  limit after its signal or at the end of its budget), ``tracebacks`` (Python tracebacks printed
  by a driver or its workers: a stop should print one line, not a traceback).

    python benchmarks/faults.py                 # 2 rounds of every fault x executor (~3 min)
    python benchmarks/faults.py --rounds 5
    python benchmarks/faults.py --quick         # smoke run: 3 faults, small budget

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.testing.faults import worker_processes

#: the driver script: the real CLI, with a sleeping evaluator registered under a name
DRIVER = """
from nasforge._entry import interrupted_while_starting, main
try:
    from nasforge.estimation import register_evaluator
    from nasforge.testing.faults import FaultyEvaluator
except KeyboardInterrupt:
    interrupted_while_starting()
register_evaluator("sleepy", FaultyEvaluator)
main()
"""

CONFIG = """\
name: campaign
seed: {seed}
storage: sqlite:///{store}
space: {{name: nb201, options: {{n_cells: 1, channels: 8}}}}
strategy: {{name: regularized-evolution, options: {{population_size: 6, sample_size: 2}}}}
evaluator: {{name: sleepy, options: {{delay: {delay}, steps: 3}}}}
objectives: {{val_acc: max}}
budget: {{max_trials: {budget}}}
execution: {{executor: {executor}, workers: {workers}, heartbeat_s: 0.5, stale_after: 3}}
max_retries: 2
"""

FAULTS_SERIAL = ("driver-sigkill", "driver-sigint", "driver-sigint-early", "driver-sigterm")
FAULTS_PROCESSES = (*FAULTS_SERIAL, "worker-sigkill", "worker-startup-sigkill")

#: seconds a driver may take to exit after a stop signal, or to finish its budget
LIVENESS_S = 120.0


@dataclass
class Run:
    fault: str
    executor: str
    hangs: int = 0
    tracebacks: int = 0
    lost: int = 0
    duplicated: int = 0
    wrongly_failed: int = 0
    left_running: int = 0
    most_stops: int = 0  # the most times one trial was interrupted (max_retries is 2)
    notes: list[str] = field(default_factory=list)


def _start(script: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, str(script), "search", str(config), "--quiet"],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # a signal to the driver alone, as a user's kill would send
    )


def _wait(process: subprocess.Popen[bytes], limit: float) -> bool:
    """Whether the process exited within ``limit`` seconds (else it is killed, with its group)."""
    try:
        process.wait(timeout=limit)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return False


def _store_has(store: Path, query: str) -> bool:
    """Whether ``query`` finds a row in ``store`` now (read-only; False before it exists)."""
    import sqlite3

    if not store.exists():
        return False
    try:
        connection = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            row = connection.execute(query).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return row is not None


def _retry_running(store: Path) -> bool:
    """Whether a retried trial (one a stopped driver left) is running in ``store`` now."""
    return _store_has(
        store, "SELECT 1 FROM trials WHERE status = 'running' AND retry_of IS NOT NULL"
    )


def _search_started(store: Path) -> bool:
    """Whether the search in ``store`` has asked for its first trial (the driver is past
    Python's start-up and its imports)."""
    return _store_has(store, "SELECT 1 FROM trials LIMIT 1")


def _wait_until(check: Callable[[], bool], process: subprocess.Popen[bytes], limit: float) -> None:
    """Poll ``check`` until it holds, the process ends, or ``limit`` seconds pass."""
    deadline = time.monotonic() + limit
    while not check() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


def _inject(
    process: subprocess.Popen[bytes],
    fault: str,
    rng: np.random.Generator,
    store: Path,
    again: bool,
) -> bool:
    """Inject ``fault`` into a running search; True when the driver is meant to end by it.

    ``again``: a driver fault after an earlier one waits (up to 30 s) until the trial the last
    stop interrupted runs again, so the same trial is stopped several times."""
    if fault == "worker-startup-sigkill":
        deadline = time.monotonic() + 30
        killed: set[int] = set()
        while time.monotonic() < deadline and len(killed) < 2 and process.poll() is None:
            for pid in worker_processes(process.pid):
                if pid not in killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.005)
        return False
    if fault == "driver-sigint-early":
        # Ctrl-C while the command starts (imports, store, evaluator); its first 50 ms are
        # Python's own start, before any code of the command can take the interrupt
        time.sleep(float(rng.uniform(0.05, 1.5)))
    elif again and fault.startswith("driver"):
        _wait_until(lambda: _retry_running(store), process, 30)
        time.sleep(float(rng.uniform(0.0, 0.2)))
    elif fault in ("driver-sigint", "driver-sigterm"):
        # a stop while Python still imports (seconds on a loaded machine) prints Python's own
        # traceback before nasforge can handle it: stop a driver whose search has begun
        _wait_until(lambda: _search_started(store), process, 60)
        time.sleep(float(rng.uniform(0.0, 2.0)))
    else:
        time.sleep(float(rng.uniform(0.8, 3.0)))
    if process.poll() is not None:
        return True
    if fault == "worker-sigkill":
        workers = sorted(worker_processes(process.pid))
        if workers:
            os.kill(workers[int(rng.integers(len(workers)))], signal.SIGKILL)
        return False
    if fault.startswith("driver-sigint"):  # Ctrl-C in a terminal: the whole process group
        os.killpg(process.pid, signal.SIGINT)
    else:  # `kill -9 PID` / `kill PID`: the driver alone
        os.kill(process.pid, signal.SIGKILL if fault == "driver-sigkill" else signal.SIGTERM)
    return True


def _check(store: Path, budget: int, run: Run) -> None:
    import sqlite3

    connection = sqlite3.connect(store)
    rows = connection.execute(
        "SELECT number, status, ask_seq, retry_of FROM trials ORDER BY number"
    ).fetchall()
    connection.close()
    finished = {"complete", "pruned", "failed"}
    by_root: Counter[int] = Counter()
    asks = [r for r in rows if r[2] is not None]
    for number, status, _, retry_of in rows:
        if status in finished:
            by_root[number if retry_of is None else retry_of] += 1
    run.duplicated += sum(count - 1 for count in by_root.values() if count > 1)
    run.duplicated += len(asks) - len({r[2] for r in asks})
    run.lost += max(0, budget - len(by_root))
    run.wrongly_failed += sum(1 for r in rows if r[1] == "failed")
    run.left_running += sum(1 for r in rows if r[1] == "running")
    stops: Counter[int] = Counter(
        number if retry_of is None else retry_of
        for number, status, _, retry_of in rows
        if status == "interrupted"
    )
    run.most_stops = max(stops.values(), default=0)


def one_run(
    folder: Path, fault: str, executor: str, seed: int, budget: int, delay: float, kills: int
) -> Run:
    run = Run(fault, executor)
    rng = np.random.default_rng(seed)
    store = folder / f"{fault}-{executor}-{seed}.db"
    config = folder / f"{fault}-{executor}-{seed}.yaml"
    workers = 2 if executor == "processes" else 1
    config.write_text(
        CONFIG.format(
            seed=seed, store=store, delay=delay, budget=budget, executor=executor, workers=workers
        )
    )
    script = folder / "driver.py"
    script.write_text(DRIVER)
    log = folder / f"{fault}-{executor}-{seed}.log"
    for kill in range(kills if fault.startswith("driver") else 1):
        # driver faults hit successive drivers: a trial running through several stops must
        # not be given up as failed (the stops are not its failures)
        driver = _start(script, config, log)
        ends = _inject(driver, fault, rng, store, again=kill > 0)
        if not _wait(driver, LIVENESS_S if ends else LIVENESS_S * 3):
            run.hangs += 1
            run.notes.append(f"driver did not exit after {fault}")
        if driver.returncode == 0:
            break  # the budget was spent before the fault
    for _ in range(4):  # rerun until the budget is spent (a resumed run finishes it)
        again = _start(script, config, log)
        if not _wait(again, LIVENESS_S * 3):
            run.hangs += 1
            run.notes.append("a resumed driver did not finish its budget")
        if again.returncode == 0:
            break
    text = log.read_text(errors="replace")
    run.tracebacks = text.count("Traceback (most recent call last)")
    _check(store, budget, run)
    return run


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every fault x executor")
    parser.add_argument("--budget", type=int, default=12, help="trials per search (default 12)")
    parser.add_argument("--delay", type=float, default=0.4, help="seconds per trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault times")
    parser.add_argument(
        "--kills", type=int, default=3, help="driver faults per search, one per driver (3)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 faults, budget 6")
    parser.add_argument("--keep", type=Path, default=None, help="keep stores and logs here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    plan: list[tuple[str, str]] = []
    if args.quick:
        plan = [("driver-sigkill", "local"), ("driver-sigint", "processes")]
        plan.append(("worker-sigkill", "processes"))
        rounds, budget, kills = 1, 6, 1
    else:
        plan = [(f, "local") for f in FAULTS_SERIAL]
        plan += [(f, "processes") for f in FAULTS_PROCESSES]
        rounds, budget, kills = args.rounds, args.budget, args.kills
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nasforge-faults-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    started = time.perf_counter()
    for round_ in range(rounds):
        for index, (fault, executor) in enumerate(plan):
            seed = args.seed * 1000 + round_ * 100 + index
            run = one_run(folder, fault, executor, seed, budget, args.delay, kills)
            runs.append(run)
            print(
                f"{fault:24s} {executor:9s} lost {run.lost} dup {run.duplicated} "
                f"failed {run.wrongly_failed} running {run.left_running} hangs {run.hangs} "
                f"tracebacks {run.tracebacks} stops {run.most_stops} {'; '.join(run.notes)}",
                file=sys.stderr,
            )
    totals = {
        key: sum(getattr(r, key) for r in runs)
        for key in ("lost", "duplicated", "wrongly_failed", "left_running", "hangs", "tracebacks")
    }
    by_fault: dict[str, dict[str, int]] = {}
    for r in runs:
        entry = by_fault.setdefault(f"{r.fault}/{r.executor}", Counter())  # type: ignore[arg-type]
        for key in totals:
            entry[key] += getattr(r, key)
        entry["runs"] += 1
    result = {
        "runs": len(runs),
        "trials_per_search": budget,
        "driver_faults_per_search": kills,
        **totals,
        "all_zero": all(v == 0 for v in totals.values()),
        "most_stops_of_one_trial": max((r.most_stops for r in runs), default=0),
        "seconds": round(time.perf_counter() - started, 1),
        "by_fault": {k: dict(v) for k, v in by_fault.items()},
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
