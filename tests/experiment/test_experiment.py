from __future__ import annotations

import math
import socket
import subprocess
import sys

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ConfigError, SearchFailedError, StorageError, TrialPruned
from nasforge.experiment._loop import FAIL_FAST_TRIALS
from nasforge.experiment.liveness import reclaim_running
from nasforge.experiment.replay import DRIVER_GONE, STOPPED_BY_DRIVER, lost_its_worker, replay
from nasforge.trial import Trial, TrialStatus

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def space():
    return nf.CellSpace(4, OPS)


def score(arch) -> dict[str, float]:
    """A synthetic objective: convolutions help, 'none' hurts."""
    key = arch.key
    return {
        "val_acc": 10.0 * key.count("nor_conv_3x3")
        + 5 * key.count("nor_conv_1x1")
        - key.count("none")
    }


def make(tmp_path, evaluator=score, name="e", **kw):
    kw.setdefault("strategy", "regularized-evolution")
    kw.setdefault("strategy_options", {"population_size": 5, "sample_size": 2})
    kw.setdefault("storage", tmp_path / "s.db")
    return nf.Experiment(space(), evaluator=evaluator, name=name, **kw)


def keys(trials):
    return [t.arch.key for t in trials]


def test_run_stores_every_trial_and_finds_a_good_arch(tmp_path):
    exp = make(tmp_path)
    finished = exp.run(max_trials=40, progress=False)
    trials = exp.trials()
    assert len(finished) == len(trials) == 40
    assert all(t.status == TrialStatus.COMPLETE for t in trials)
    assert [t.number for t in trials] == list(range(40))
    best = exp.best()
    assert best.metrics["val_acc"] == max(t.metrics["val_acc"] for t in trials)
    assert best.metrics["val_acc"] >= 40  # evolution climbs the synthetic objective


def test_same_seed_same_search_and_other_seed_differs(tmp_path):
    a = make(tmp_path, name="a", seed=3)
    b = make(tmp_path, name="b", seed=3)
    c = make(tmp_path, name="c", seed=4)
    for exp in (a, b, c):
        exp.run(max_trials=15, progress=False)
    assert keys(a.trials()) == keys(b.trials())
    assert [t.seed for t in a.trials()] == [t.seed for t in b.trials()]
    assert keys(a.trials()) != keys(c.trials())


def test_budget_counts_across_runs(tmp_path):
    make(tmp_path).run(max_trials=6, progress=False)
    exp = make(tmp_path)
    assert len(exp.run(max_trials=10, progress=False)) == 4
    assert len(exp.trials()) == 10
    assert exp.run(max_trials=10, progress=False) == []


def test_resume_after_interrupt_retries_the_running_trial_and_matches_an_uninterrupted_run(
    tmp_path,
):
    reference = make(tmp_path, name="ref")
    reference.run(max_trials=20, progress=False)

    calls = {"n": 0}

    def crashes_once(arch):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt  # the process is stopped in the middle of trial 7
        return score(arch)

    exp = make(tmp_path, evaluator=crashes_once, name="run")
    with pytest.raises(KeyboardInterrupt):
        exp.run(max_trials=20, progress=False)
    before = {t.number: t for t in exp.trials()}
    # Ctrl-C marks the running trial interrupted at once, with every executor (a SIGKILLed
    # driver leaves it running and the next run takes it back: tests/execution/test_faults.py)
    assert before[7].status == TrialStatus.INTERRUPTED

    resumed = make(tmp_path, name="run")
    resumed.run(max_trials=20, progress=False)
    trials = resumed.trials()
    interrupted = [t for t in trials if t.status == TrialStatus.INTERRUPTED]
    assert [t.number for t in interrupted] == [7]
    retry = next(t for t in trials if t.retry_of == 7)
    assert retry.arch == interrupted[0].arch and retry.seed == interrupted[0].seed
    for number, old in before.items():  # nothing finished was lost or changed
        if old.status.finished:
            assert trials[number].metrics == old.metrics and trials[number].arch == old.arch
    finished = [t for t in trials if t.status.finished]
    assert len(finished) == 20
    # replay restores the strategy exactly: the same archs as a run that was never stopped
    assert [t.arch.key for t in finished] == keys(reference.trials())


def test_stops_of_the_driver_do_not_count_against_max_retries(tmp_path):
    def always_stopped(arch):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM while the first trial runs

    for _ in range(3):
        exp = make(tmp_path, evaluator=always_stopped, max_retries=1)
        with pytest.raises(KeyboardInterrupt):
            exp.run(max_trials=3, progress=False)
    exp = make(tmp_path, max_retries=1)
    exp.run(max_trials=3, progress=False)
    trials = exp.trials()
    assert [t.status for t in trials[:3]] == [TrialStatus.INTERRUPTED] * 3
    assert all(t.error == STOPPED_BY_DRIVER for t in trials[:3])
    retry = trials[3]  # the fourth attempt ran: never failed, never given up
    assert retry.retry_of == 0 and retry.status == TrialStatus.COMPLETE
    assert not any(t.status == TrialStatus.FAILED for t in trials)
    told = {t.number: t.status for t in exp.strategy_.history_}
    assert told[3] == TrialStatus.COMPLETE and len(told) == 3


def _interrupted(number, error, retry_of=None):
    arch = space().sample(np.random.default_rng(number))
    return Trial(number, arch, TrialStatus.INTERRUPTED, error=error, retry_of=retry_of)


def test_replay_counts_only_lost_workers_as_attempts(tmp_path):
    lost = "worker process 123 died (exit -9)"
    driver = [_interrupted(0, STOPPED_BY_DRIVER), _interrupted(1, DRIVER_GONE, retry_of=0)]
    driver += [_interrupted(2, STOPPED_BY_DRIVER, retry_of=0)]
    workers = [_interrupted(3, lost), _interrupted(4, lost, retry_of=3)]
    mixed = [_interrupted(5, lost), _interrupted(6, STOPPED_BY_DRIVER, retry_of=5)]
    strategy = nf.create_strategy("random", space(), seed=0)
    state = replay(strategy, driver + workers + mixed, max_retries=1)
    assert [(r.root, r.losses) for r in state.retries] == [(0, 0), (5, 1)]
    assert [(t.number, losses) for t, losses in state.abandoned] == [(4, 2)]
    # what reclaim_running stores for a dead driver's trial reads as the driver's stop
    exp = make(tmp_path)
    arch = space().sample(np.random.default_rng(0))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    worker = f"{socket.gethostname()}:{dead.stdout.strip()}"
    exp.storage.start_trial(exp.record.id, 0, arch, 1, ask_seq=0, worker=worker)
    assert reclaim_running(exp.storage, exp.record.id, exp.name, stale_after=30) == [0]
    (taken_back,) = exp.trials()
    assert not lost_its_worker(taken_back)


def test_errors_in_the_evaluator_are_recorded_and_the_search_goes_on(tmp_path):
    def flaky(arch):
        if "avg_pool_3x3~0|+" in arch.key:
            raise ValueError("cannot train this one")
        return score(arch)

    exp = make(tmp_path, evaluator=flaky, strategy="random", strategy_options={})
    exp.run(max_trials=30, progress=False)
    trials = exp.trials()
    failed = [t for t in trials if t.status == TrialStatus.FAILED]
    assert failed and all("ValueError: cannot train this one" in t.error for t in failed)
    assert all("Traceback" in t.error for t in failed)
    assert len(trials) == 30 and exp.best() is not None


def test_missing_objective_fails_the_trial_with_a_message(tmp_path):
    exp = make(tmp_path, evaluator=lambda arch: {"accuracy": 1.0})
    with pytest.raises(SearchFailedError, match="no objective 'val_acc'"):
        exp.run(max_trials=2, progress=False)  # both fail the same way: a failed search
    (t, _) = exp.trials()
    assert t.status == TrialStatus.FAILED
    assert "no objective 'val_acc'" in t.error and "accuracy" in t.error
    assert exp.best() is None


def test_nan_objective_fails_the_trial_saying_it_is_nan(tmp_path):
    def nan_once(arch, ctx):
        return {"val_acc": math.nan if ctx.number == 1 else 1.0}

    exp = make(tmp_path, evaluator=nan_once)
    exp.run(max_trials=3, progress=False)
    trials = exp.trials()
    complete, failed = TrialStatus.COMPLETE, TrialStatus.FAILED
    assert [t.status for t in trials] == [complete, failed, complete]
    assert "objective 'val_acc' as nan" in trials[1].error and "NaN or infinite" in trials[1].error


def test_a_search_whose_trials_all_fail_the_same_way_stops_with_one_line(tmp_path):
    def broken(arch):
        raise ValueError("the data folder is empty")

    exp = make(tmp_path, evaluator=broken, strategy="random", strategy_options={})
    with pytest.raises(SearchFailedError) as stopped:
        exp.run(max_trials=30, progress=False)
    message = str(stopped.value)
    assert "\n" not in message and f"first {FAIL_FAST_TRIALS} trials all failed" in message
    assert "ValueError: the data folder is empty" in message
    assert f"nasforge trials e --storage {exp.storage.url} --json" in message
    trials = exp.trials()  # stored, and nothing left running
    assert [t.status for t in trials] == [TrialStatus.FAILED] * FAIL_FAST_TRIALS
    # run again unchanged: it stops after one more trial, still failing the same way
    with pytest.raises(SearchFailedError, match=f"last {FAIL_FAST_TRIALS} trials"):
        make(tmp_path, evaluator=broken, strategy="random", strategy_options={}).run(
            max_trials=30, progress=False
        )
    assert len(exp.trials()) == FAIL_FAST_TRIALS + 1
    # a smaller budget: all its trials
    small = make(tmp_path, name="small", evaluator=broken)
    with pytest.raises(SearchFailedError, match="first 2 trials"):
        small.run(max_trials=2, progress=False)


def test_failures_after_a_success_or_with_different_errors_do_not_stop_the_search(tmp_path):
    def fails_after_the_first(arch, ctx):
        if ctx.number > 0:
            raise ValueError("out of disk")
        return {"val_acc": 1.0}

    exp = make(tmp_path, evaluator=fails_after_the_first)
    exp.run(max_trials=8, progress=False)
    assert len(exp.trials()) == 8

    def each_its_own(arch, ctx):
        raise ValueError(f"bad arch {arch.key}")

    exp = make(tmp_path, name="own", evaluator=each_its_own, strategy="random", strategy_options={})
    exp.run(max_trials=8, progress=False)
    assert [t.status for t in exp.trials()] == [TrialStatus.FAILED] * 8


def test_pruned_trial_keeps_its_curve(tmp_path):
    def pruned(arch, ctx):
        ctx.report(1, {"val_acc": 3.0})
        raise TrialPruned

    exp = make(tmp_path, evaluator=pruned)
    exp.run(max_trials=2, progress=False)
    t = exp.trials()[0]
    assert t.status == TrialStatus.PRUNED
    assert t.intermediate == {1: {"val_acc": 3.0}} and t.metrics == {"val_acc": 3.0}


def test_minimised_objective_and_pareto_front(tmp_path):
    def two(arch):
        convs = arch.key.count("conv")
        return {"val_acc": float(convs), "params": float(convs + arch.key.count("pool"))}

    exp = make(
        tmp_path,
        evaluator=two,
        objectives={"val_acc": "max", "params": "min"},
        strategy="random",
        strategy_options={},
    )
    exp.run(max_trials=40, progress=False)
    best = exp.best()
    assert best.metrics["val_acc"] == max(t.metrics["val_acc"] for t in exp.trials())
    front = exp.pareto_front()
    assert front
    for t in front:
        for o in exp.trials():
            assert not (
                o.metrics["val_acc"] > t.metrics["val_acc"]
                and o.metrics["params"] < t.metrics["params"]
            )


def test_resuming_with_other_settings_is_refused(tmp_path):
    make(tmp_path).run(max_trials=2, progress=False)
    other_seed = make(tmp_path, seed=1)  # only checked and kept: the store is not open yet
    with pytest.raises(StorageError, match="seed=0, not 1"):
        other_seed.run(max_trials=3, progress=False)
    with pytest.raises(StorageError, match="strategy="):
        make(tmp_path, strategy="random", strategy_options={}).trials()
    assert len(make(tmp_path).trials()) == 2  # nothing stored was touched


def test_the_constructor_opens_no_store_and_loads_no_data(tmp_path):
    class Counting(nf.FunctionEvaluator):
        loads = 0

        def fingerprint(self) -> dict[str, str]:
            Counting.loads += 1
            return {"data": "counted"}

    path = tmp_path / "lazy" / "s.db"
    exp = make(tmp_path, evaluator=Counting(score), storage=path)  # type: ignore[arg-type]
    assert not path.exists() and not path.parent.exists() and Counting.loads == 0
    assert str(path) in repr(exp)
    exp.run(max_trials=2, progress=False)
    assert path.exists() and Counting.loads == 1
    assert exp.record.versions["data"] == "counted"


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="direction 'up'"):
        make(tmp_path, objectives={"val_acc": "up"})
    with pytest.raises(nf.NasforgeError, match="unknown strategy 'nope'"):
        make(tmp_path, strategy="nope")
    with pytest.raises(ConfigError, match="population_size"):
        make(tmp_path, strategy_options={"population_size": 0})
    with pytest.raises(ConfigError, match="unexpected keyword"):
        make(tmp_path, strategy_options={"populaton": 3})
    exp = make(tmp_path)
    with pytest.raises(ConfigError, match="max_trials or max_time"):
        exp.run(progress=False)
    with pytest.raises(ConfigError, match="max_trials must be"):
        exp.run(max_trials=0, progress=False)


def test_max_time_ends_the_run(tmp_path):
    import time

    def slow(arch):
        time.sleep(0.05)
        return score(arch)

    exp = make(tmp_path, evaluator=slow)
    finished = exp.run(max_time=0.3, progress=False)
    assert 1 <= len(finished) < 20


def test_load_experiment_reads_a_stored_search(tmp_path):
    exp = make(tmp_path)
    exp.run(max_trials=5, progress=False)
    loaded = nf.load_experiment("e", tmp_path / "s.db")
    assert keys(loaded.trials()) == keys(exp.trials())
    assert loaded.best() == exp.best()
    with pytest.raises(StorageError, match="experiments: 'e'"):
        nf.load_experiment("other", tmp_path / "s.db")
