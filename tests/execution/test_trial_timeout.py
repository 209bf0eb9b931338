"""``trial_timeout``: a trial that runs too long fails with its cause, with every executor.

The hanging trials here sleep far longer than their limit; a trial that was not stopped would
finish with a result (and these tests would fail on its status), not hang the suite.
"""

from __future__ import annotations

import threading
import time

import pytest
import yaml
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli import app
from nasforge.errors import ConfigError
from nasforge.execution import TrialTimedOut
from nasforge.execution.local import time_limit
from nasforge.experiment.config import parse_config
from nasforge.testing.faults import FaultyEvaluator, check_invariants
from nasforge.trial import TrialStatus

SPACE = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
TIMED_OUT = "timed out after 1.5 s (trial_timeout)"


def experiment(tmp_path, evaluator, **kwargs):
    return nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=evaluator,
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 's.db'}",
        **kwargs,
    )


def check_one_timed_out(exp, number: int, budget: int) -> None:
    trials = exp.trials()
    check_invariants(trials, budget)
    by_number = {t.number: t for t in trials}
    assert by_number[number].status == TrialStatus.FAILED
    assert by_number[number].error == TIMED_OUT
    others = [t for t in trials if t.number != number]
    assert all(t.status == TrialStatus.COMPLETE for t in others)
    assert not any(t.retry_of == number for t in trials)  # a timed-out trial is not retried


def test_in_process_a_hanging_trial_is_interrupted(tmp_path):
    def hangs_once(arch, ctx):  # no report to stop at: only the timer can end it
        if ctx.number == 1:
            time.sleep(600)
        return {"val_acc": 1.0}

    exp = experiment(tmp_path, hangs_once)
    exp.run(max_trials=3, progress=False, trial_timeout=1.5)
    check_one_timed_out_by_value(exp, number=1)


def check_one_timed_out_by_value(exp, number: int) -> None:
    trials = exp.trials()
    assert [t.status for t in trials] == [
        TrialStatus.FAILED if t.number == number else TrialStatus.COMPLETE for t in trials
    ]
    assert trials[number].error == TIMED_OUT


def test_in_process_outside_the_main_thread_the_limit_holds_at_each_report(tmp_path):
    def slow_once(arch, ctx):
        for step in range(1, 301):
            if ctx.number == 1:
                time.sleep(0.02)
            ctx.report(step, {"val_acc": float(step)})
        return {"val_acc": 300.0}

    exp = experiment(tmp_path, slow_once)
    runner = threading.Thread(
        target=exp.run, kwargs={"max_trials": 3, "progress": False, "trial_timeout": 1.5}
    )
    runner.start()
    runner.join()
    check_one_timed_out_by_value(exp, number=1)
    assert max(exp.trials()[1].intermediate) < 300  # stopped at a report, not at the end


def test_a_timer_set_by_the_user_goes_on_after_a_trial():
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 2.0)
        with time_limit(5):
            time.sleep(0.1)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 2.0 and not fired  # put back, less the time spent
        with pytest.raises(TrialTimedOut), time_limit(0.05):
            time.sleep(5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_with_worker_processes_the_worker_is_killed_and_replaced(tmp_path):
    evaluator = FaultyEvaluator(delay=0.1, hang_on={2}, pid_dir=tmp_path, hang_s=600)
    exp = experiment(tmp_path, evaluator)
    exp.run(max_trials=8, progress=False, executor="processes", workers=2, trial_timeout=1.5)
    check_one_timed_out(exp, number=2, budget=8)
    assert exp.trials()[2].worker.endswith("/w0") or exp.trials()[2].worker.endswith("/w1")


def test_on_ray_the_task_is_cancelled(tmp_path, ray_cluster):
    evaluator = FaultyEvaluator(delay=0.1, hang_on={2}, pid_dir=tmp_path, hang_s=600)
    exp = experiment(tmp_path, evaluator)
    exp.run(
        max_trials=6,
        progress=False,
        executor="ray",
        ray_address=ray_cluster,
        workers=2,
        trial_timeout=1.5,
    )
    check_one_timed_out(exp, number=2, budget=6)


def test_trial_timeout_from_python_yaml_and_the_command_line(tmp_path):
    with pytest.raises(ConfigError, match="trial_timeout must be a number of seconds > 0"):
        experiment(tmp_path, FaultyEvaluator()).run(max_trials=1, trial_timeout=0)
    config = {
        "name": "limited",
        "storage": f"sqlite:///{tmp_path / 'cli.db'}",
        "space": {"name": "nb201", "options": {"n_cells": 1, "channels": 4}},
        "strategy": "random",
        "evaluator": {"name": "train", "options": {"dataset": "digits", "epochs": 3}},
        "objectives": {"val_acc": "max"},
        "budget": {"max_trials": 3},
        "execution": {"trial_timeout": 0.0},
    }
    with pytest.raises(ConfigError, match=r"execution\.trial_timeout"):
        parse_config(config)
    config["execution"] = {"trial_timeout": 0.05}
    assert parse_config(config).execution.run_options()["trial_timeout"] == 0.05
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path), "--quiet", "--trial-timeout", "-1"])
    assert (
        result.exit_code == 2 and "--trial-timeout must be a number of seconds > 0" in result.output
    )
    # every trial times out: the search stops (exit status 2) and says why in one line
    result = CliRunner().invoke(app, ["search", str(path), "--quiet", "--trial-timeout", "0.01"])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert "timed out after 0.01 s (trial_timeout)" in line and "nasforge trials limited" in line
    trials = nf.load_experiment("limited", config["storage"]).trials()
    assert [t.error for t in trials] == ["timed out after 0.01 s (trial_timeout)"] * 3
