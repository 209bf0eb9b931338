"""Fault injection on real backends: a worker killed mid-trial, an exception in the evaluator,
the driver killed with SIGKILL and resumed, a SQLite file locked by another writer.

After each: every finished trial is stored exactly once, the interrupted one was retried, and
the number of answered asks equals the budget. The end-to-end test runs on SQLite and
PostgreSQL, with local worker processes and with a Ray cluster.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.errors import StorageError
from nasforge.execution.processes import ProcessExecutor
from nasforge.storage import Storage
from nasforge.testing.faults import FaultyEvaluator, check_invariants, wait_for
from nasforge.trial import TrialStatus

SPACE = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])


def _killer(pid_dir: Path, number: int) -> threading.Thread:
    """Kill -9 the process that writes ``<number>.pid`` (a worker hanging in that trial)."""

    def kill() -> None:
        path = pid_dir / f"{number}.pid"
        wait_for(path.exists, f"trial {number} to start")
        os.kill(int(path.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


# the Ray cluster is shared: its tests run on one xdist worker (tests/conftest.py)
@pytest.mark.parametrize(
    "executor", ["processes", pytest.param("ray", marks=pytest.mark.xdist_group("ray"))]
)
def test_worker_killed_and_evaluator_error_on_each_backend(
    executor, storage_url, unique_name, tmp_path, request
):
    kwargs = {"workers": 2}
    if executor == "ray":
        kwargs["ray_address"] = request.getfixturevalue("ray_cluster")
    evaluator = FaultyEvaluator(delay=0.2, raise_on={1}, hang_on={3}, pid_dir=tmp_path)
    exp = nf.Experiment(
        SPACE,
        strategy="regularized-evolution",
        evaluator=evaluator,
        objectives={"val_acc": "max"},
        storage=storage_url,
        name=unique_name,
        seed=3,
    )
    killer = _killer(tmp_path, 3)
    exp.run(max_trials=10, progress=False, executor=executor, **kwargs)
    killer.join()
    trials = exp.trials()
    check_invariants(trials, budget=10)
    by_number = {t.number: t for t in trials}
    assert by_number[1].status == TrialStatus.FAILED
    assert "injected failure in trial 1" in by_number[1].error
    assert "Traceback" in by_number[1].error and "faults.py" in by_number[1].error
    assert by_number[3].status == TrialStatus.INTERRUPTED
    (retry,) = [t for t in trials if t.retry_of == 3]
    assert retry.status == TrialStatus.COMPLETE and retry.arch == by_number[3].arch
    assert retry.seed == by_number[3].seed
    assert len({t.worker for t in trials if t.status.finished}) >= 2  # really in parallel


def test_a_worker_that_dies_every_time_is_given_up_after_max_retries(tmp_path):
    evaluator = FaultyEvaluator(hang_on={0, 1, 2}, pid_dir=tmp_path)  # a trial and its retries
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=evaluator,
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 's.db'}",
        max_retries=2,
    )
    killers = [_killer(tmp_path, n) for n in (0, 1, 2)]
    exp.run(max_trials=2, progress=False, executor="processes", workers=1)
    for k in killers:
        k.join()
    trials = exp.trials()
    statuses = [t.status for t in trials]
    assert statuses[:3] == [TrialStatus.INTERRUPTED, TrialStatus.INTERRUPTED, TrialStatus.FAILED]
    assert "interrupted 3 times" in trials[2].error and "died" in trials[2].error
    check_invariants(trials, budget=2)


def test_search_goes_on_while_another_writer_holds_the_sqlite_lock(tmp_path):
    path = tmp_path / "locked.db"
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=FaultyEvaluator(delay=0.05),
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{path}",
    )
    held = threading.Event()

    def lock_briefly() -> None:
        wait_for(
            lambda: len(exp.storage.trials(exp.record.id, intermediate=False)) >= 3, "three trials"
        )
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("BEGIN EXCLUSIVE")  # no other connection may write (or, in WAL, start)
        held.set()
        time.sleep(1.5)
        conn.rollback()
        conn.close()

    locker = threading.Thread(target=lock_briefly)
    locker.start()
    exp.run(max_trials=12, progress=False, executor="processes", workers=2)
    locker.join()
    assert held.is_set()
    check_invariants(exp.trials(), budget=12)
    assert all(t.status == TrialStatus.COMPLETE for t in exp.trials())


DRIVER = textwrap.dedent(
    """
    import sys
    import nasforge as nf
    from nasforge.testing.faults import FaultyEvaluator
    space = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
    exp = nf.Experiment(space, strategy="regularized-evolution",
                        evaluator=FaultyEvaluator(delay=0.4), objectives={"val_acc": "max"},
                        storage=sys.argv[1], name=sys.argv[2], seed=5)
    exp.run(max_trials=14, progress=False, executor="processes", workers=2)
    """
)


def test_driver_killed_with_sigkill_resumes_with_nothing_lost(storage_url, unique_name, tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(Path(nf.__file__).parents[1])}
    driver = subprocess.Popen([sys.executable, str(script), storage_url, unique_name], env=env)
    store = Storage(storage_url)

    def some_finished():
        record = store.find_experiment(unique_name)
        if record is None:
            return None
        trials = store.trials(record.id, intermediate=False)
        return trials if sum(t.status.finished for t in trials) >= 4 else None

    wait_for(some_finished, "four finished trials")
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    record = store.get_experiment(unique_name)
    before = {t.number: t for t in store.trials(record.id) if t.status.finished}
    workers = {int(t.worker.split(":")[-1].split("/")[0]) for t in before.values()}
    # the workers notice that their driver is gone and exit: no orphan keeps training
    wait_for(lambda: not any(_alive(pid) for pid in workers), "orphaned workers to exit", 30)

    done = subprocess.run([sys.executable, str(script), storage_url, unique_name], env=env)
    assert done.returncode == 0
    trials = store.trials(record.id)
    check_invariants(trials, budget=14)
    after = {t.number: t for t in trials}
    for number, trial in before.items():  # kept as they were, not run again
        assert after[number].status == trial.status
        assert after[number].metrics == trial.metrics
        assert after[number].finished_at == trial.finished_at


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of this test process counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_a_live_driver_elsewhere_is_refused_and_a_dead_one_reclaimed(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=FaultyEvaluator(),
        objectives={"val_acc": "max"},
        storage=url,
    )
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = os.uname().nodename
        arch = SPACE.sample(__import__("numpy").random.default_rng(0))
        exp.storage.start_trial(
            exp.record.id, 0, arch, 1, ask_seq=0, worker=f"{host}:{sleeper.pid}"
        )
        with pytest.raises(StorageError, match=f"being run by {host}:{sleeper.pid}"):
            exp.run(max_trials=3, progress=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    exp.run(max_trials=3, progress=False)  # its driver is dead now: retried, not refused
    trials = exp.trials()
    assert trials[0].status == TrialStatus.INTERRUPTED
    assert trials[1].retry_of == 0 and trials[1].status == TrialStatus.COMPLETE


def test_running_trials_get_heartbeats(tmp_path):
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=FaultyEvaluator(delay=1.5, steps=2),
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 's.db'}",
    )
    seen = []

    def watch() -> None:
        wait_for(lambda: exp.storage.running_trials(exp.record.id), "a running trial")
        first = exp.storage.running_trials(exp.record.id)[0]
        time.sleep(0.45)
        later = dict((n, last) for n, _, last in exp.storage.running_trials(exp.record.id))
        seen.append((first, later.get(first[0])))

    watcher = threading.Thread(target=watch)
    watcher.start()
    executor = ProcessExecutor(workers=1)
    exp.run(max_trials=2, progress=False, executor=executor, heartbeat_s=0.1)
    watcher.join()
    (_, _, started), beat = seen[0]
    assert beat is not None and beat > started
