"""Ordered runs: with several workers, results told in the order asked, so the same seed gives
the same search whatever order the results arrive in.

The executor here finishes its jobs in an order drawn from its own seed (no sleeps, no
timing): each seed is another way the results could have arrived.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.estimation import Evaluator
from nasforge.execution import Executor, Job, Lost
from nasforge.execution.base import Decide, Event, run_job
from nasforge.space import Space
from nasforge.testing.faults import FaultyEvaluator
from nasforge.trial import TrialStatus

SPACE = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])


class ShuffledExecutor(Executor):
    """Up to ``workers`` jobs at once, each poll finishing one of them drawn at random
    (``seed``); a job whose number is in ``lose`` loses its worker the first time."""

    name = "shuffled"

    def __init__(self, workers: int, seed: int, lose: set[int] | None = None) -> None:
        self.workers, self.rng, self.lose = workers, random.Random(seed), set(lose or ())
        self.jobs: list[Job] = []

    def start(self, evaluator: Evaluator, space: Space, decide: Decide) -> None:
        self.evaluator, self.space, self.decide = evaluator, space, decide

    def free_slots(self) -> int:
        return self.workers - len(self.jobs)

    def submit(self, job: Job) -> None:
        assert self.free_slots() > 0
        self.jobs.append(job)

    def poll(self, timeout: float) -> list[Event]:
        if not self.jobs:
            return []
        job = self.jobs.pop(self.rng.randrange(len(self.jobs)))
        if job.number in self.lose:
            self.lose.discard(job.number)
            return [Lost(job.number, "worker killed (test)")]

        def report(step: int, metrics: dict[str, float]) -> bool:
            return self.decide(job.number, step, metrics)

        return [run_job(job, self.evaluator, self.space, "cpu", report, "w")]

    def shutdown(self) -> None:
        self.jobs = []


def experiment(tmp_path: Path, name: str) -> nf.Experiment:
    return nf.Experiment(
        SPACE,
        strategy="regularized-evolution",
        strategy_options={"population_size": 4, "sample_size": 2},
        evaluator=FaultyEvaluator(),
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / f'{name}.db'}",
        seed=3,
        name="ordered",
    )


def search(tmp_path: Path, executor: Executor, ordered: bool, name: str) -> nf.Experiment:
    exp = experiment(tmp_path, name)
    exp.run(max_trials=20, progress=False, executor=executor, ordered=ordered)
    return exp


def told(exp: nf.Experiment) -> list[str]:
    """The archs in the order the strategy was told them."""
    return [t.arch.key for t in exp.strategy_.history_]


def test_an_ordered_search_is_the_same_in_whatever_order_results_arrive(tmp_path: Path) -> None:
    runs = [search(tmp_path, ShuffledExecutor(3, seed), True, f"o{seed}") for seed in range(4)]
    first = runs[0]
    assert len(first.trials()) == 20 and all(
        t.status == TrialStatus.COMPLETE for t in first.trials()
    )
    # told in the order asked: trial numbers (given at the start) in order
    assert [t.number for t in first.strategy_.history_] == sorted(t.number for t in first.trials())
    for other in runs[1:]:
        assert told(other) == told(first)
        assert [t.tell_seq for t in other.trials()] == [t.tell_seq for t in first.trials()]
        assert [t.ask_seq for t in other.trials()] == [t.ask_seq for t in first.trials()]
    # unordered, the arrival order changes what the strategy asks for
    unordered = [
        search(tmp_path, ShuffledExecutor(3, seed), False, f"u{seed}") for seed in range(4)
    ]
    assert len({tuple(told(exp)) for exp in unordered}) > 1


def test_a_lost_worker_keeps_its_place_in_an_ordered_search(tmp_path: Path) -> None:
    plain = search(tmp_path, ShuffledExecutor(3, 0), True, "plain")
    lossy = search(tmp_path, ShuffledExecutor(3, 1, lose={2, 5}), True, "lossy")
    assert told(lossy) == told(plain)  # the retries took the lost trials' places
    interrupted = [t for t in lossy.trials() if t.status == TrialStatus.INTERRUPTED]
    assert len(interrupted) == 2


def test_a_killed_ordered_search_resumes_to_the_same_search(tmp_path: Path) -> None:
    whole = search(tmp_path, ShuffledExecutor(3, 0), True, "whole")

    def kill_after_seven(exp: nf.Experiment, trial: nf.Trial) -> None:
        if len(exp.strategy_.history_) == 7:  # held and running trials are cut off
            raise KeyboardInterrupt

    killed = experiment(tmp_path, "killed")
    with pytest.raises(KeyboardInterrupt):
        killed.run(
            max_trials=20,
            progress=False,
            executor=ShuffledExecutor(3, 5),
            ordered=True,
            callbacks=[kill_after_seven],
        )
    assert any(t.status == TrialStatus.INTERRUPTED for t in killed.trials())
    resumed = experiment(tmp_path, "killed")
    resumed.run(max_trials=20, progress=False, executor=ShuffledExecutor(3, 9), ordered=True)
    assert told(resumed) == told(whole)


def test_ordered_is_a_yes_or_no(tmp_path: Path) -> None:
    exp = nf.Experiment(
        SPACE, evaluator=FaultyEvaluator(), storage=f"sqlite:///{tmp_path / 's.db'}"
    )
    with pytest.raises(ConfigError, match=r"ordered='yes'; allowed: True or False"):
        exp.run(max_trials=1, progress=False, ordered="yes")  # type: ignore[arg-type]
    assert exp.trials() == []
