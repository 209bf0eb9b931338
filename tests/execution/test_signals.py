"""Ctrl-C and SIGTERM through the real command line, with worker processes and in-process.

Each try starts ``nasforge search`` in its own session, waits for a moment (worker processes
starting, or trials running), sends the signal (Ctrl-C as a terminal sends it: SIGINT to the
whole process group, workers included; SIGTERM to the driver alone, as ``kill`` does), and
waits for the driver to exit: status 130, its one "interrupted" line, no traceback from it or
its workers, no trial left ``running``, no worker left behind. A hang at exit struck about one
try in ten before, so the tries are repeated; the wait for the exit is a generous liveness
limit, not a speed check.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.testing.faults import is_worker, trial_statuses, wait_for, worker_processes

CONFIG = """\
name: sig
storage: sqlite:///{db}
space: {{name: nb201, options: {{n_cells: 1, channels: 4}}}}
strategy: random
evaluator: {{name: tabular}}
objectives: {{val_acc: max}}
budget: {{max_trials: 1000000}}
execution: {{executor: {executor}, workers: {workers}}}
"""
#: how often each (signal, moment) pair is tried with worker processes
TRIES = 5


def stop_search(tmp_path: Path, executor: str, sig: int, moment: str, attempt: int = 0) -> None:
    """One try: start, wait for ``moment``, send ``sig``, check how the search stopped."""
    db = tmp_path / f"{executor}-{attempt}.db"
    config = tmp_path / "search.yaml"
    workers = 2 if executor == "processes" else 1
    config.write_text(CONFIG.format(db=db, executor=executor, workers=workers))
    env = {**os.environ, "PYTHONPATH": str(Path(nf.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasforge", "search", str(config), "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        seen: set[int] = set()

        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the search ended by itself: {proc.communicate()[1][-2000:]}")
            seen.update(worker_processes(proc.pid))
            if moment == "starting":  # the first worker process exists (inside Experiment.run)
                return bool(seen)
            return trial_statuses(db).count("complete") >= 20

        wait_for(ready, moment)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        else:
            proc.send_signal(sig)
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the search did not exit after {signal.Signals(sig).name} ({moment})")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted:" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert "running" not in trial_statuses(db)
    for pid in seen:  # the workers went with the driver
        wait_for(lambda pid=pid: not is_worker(pid), f"worker {pid} to exit", 30)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("moment", ["starting", "running"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_search_with_workers_exits_cleanly_every_time(tmp_path, sig, moment):
    for attempt in range(TRIES):
        stop_search(tmp_path, "processes", sig, moment, attempt)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_in_process_search_marks_its_trial_interrupted(tmp_path, sig):
    stop_search(tmp_path, "local", sig, "running")
