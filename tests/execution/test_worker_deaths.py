"""Worker processes that die at awkward moments: while a replacement starts, right after
sending a result, and every time they start.

Each search must end (liveness waits are generous limits, not speed checks), keep every result
that reached the driver, and retry only what was really lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ExecutionError
from nasforge.execution import Done, Job
from nasforge.execution.processes import ProcessExecutor
from nasforge.storage import Storage
from nasforge.testing.faults import (
    FaultyEvaluator,
    arch_score,
    check_invariants,
    wait_for,
    worker_processes,
)
from nasforge.trial import TrialStatus

SPACE = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])

DRIVER = textwrap.dedent(
    """
    import sys
    import nasforge as nf
    from nasforge.testing.faults import FaultyEvaluator
    space = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
    evaluator = FaultyEvaluator(hang_on={0}, pid_dir=sys.argv[3], ballast_mb=2)
    exp = nf.Experiment(space, strategy="random", evaluator=evaluator,
                        objectives={"val_acc": "max"}, storage=sys.argv[1], name=sys.argv[2],
                        max_retries=5)
    exp.run(max_trials=3, progress=False, executor="processes", workers=1, heartbeat_s=0.2)
    """
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_replacement_worker_that_dies_while_starting_does_not_stall_the_driver(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    url, name = f"sqlite:///{tmp_path / 's.db'}", "replaced"
    env = {**os.environ, "PYTHONPATH": str(Path(nf.__file__).parents[1])}
    driver = subprocess.Popen([sys.executable, str(script), url, name, str(tmp_path)], env=env)
    try:
        pid_file = tmp_path / "0.pid"
        wait_for(pid_file.exists, "trial 0 to start")
        first = int(pid_file.read_text())
        os.kill(first, signal.SIGKILL)  # the worker dies mid-trial ...
        replacement = wait_for(lambda: worker_processes(driver.pid) - {first}, "a replacement")
        for pid in replacement:  # ... and its replacement while it starts
            os.kill(pid, signal.SIGKILL)
        try:
            driver.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("the driver stalled after its replacement worker died while starting")
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0
    store = Storage(url)
    trials = store.trials(store.get_experiment(name).id)
    check_invariants(trials, budget=3)
    assert trials[0].status == TrialStatus.INTERRUPTED and "died" in trials[0].error
    last = [t for t in trials if t.retry_of == 0][-1]
    assert last.status == TrialStatus.COMPLETE and last.arch == trials[0].arch


def test_a_result_that_reached_the_driver_is_kept_when_its_worker_died_after_it():
    # the worker sends trial 0's result and dies 0.2 s later; the driver polls only after the
    # death, so it sees both at once
    executor = ProcessExecutor(workers=1)
    evaluator = FaultyEvaluator(exit_after_on={0}, exit_after_s=0.2)
    executor.start(evaluator, SPACE, lambda number, step, metrics: False)
    try:
        arch = SPACE.sample(np.random.default_rng(0))
        executor.submit(Job(0, arch.to_dict(), seed=1, wait_decision=False))
        executor._slots[0].process.join(60)
        assert executor._slots[0].process.exitcode == 7
        (done,) = executor.poll(timeout=0.5)
        assert isinstance(done, Done) and done.error is None
        assert done.metrics["val_acc"] == pytest.approx(arch_score(arch))
        assert executor.free_slots() == 1  # and the slot has a fresh worker for the next job
        executor.submit(Job(1, arch.to_dict(), seed=2, wait_decision=False))
        events = wait_for(lambda: executor.poll(timeout=0.5), "trial 1 to end")
        assert [type(e) for e in events] == [Done] and events[0].number == 1
    finally:
        executor.shutdown()


def test_a_worker_that_always_dies_while_starting_stops_the_search(tmp_path, monkeypatch):
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=FaultyEvaluator(),
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 's.db'}",
    )
    executor = ProcessExecutor(workers=1)
    spawn = executor._spawn

    def spawn_then_kill(slot):  # every worker is killed before it can load the evaluator
        spawn(slot)
        os.kill(slot.process.pid, signal.SIGKILL)

    monkeypatch.setattr(executor, "_spawn", spawn_then_kill)
    with pytest.raises(ExecutionError, match=r"worker 0 died 3 times while starting \(last exit"):
        exp.run(max_trials=2, progress=False, executor=executor)
    assert exp.trials() == []
