"""Replay: rebuild a strategy from the stored trials, and what the loop still owes.

A strategy is deterministic for its seed and a sequence of asks and tells, so a resumed search
feeds it the stored asks and tells in their original order (``ask_seq`` and ``tell_seq`` on one
counter per experiment) and it is in the state it had when the search stopped.

An ask whose attempts were all interrupted is owed a retry. Only an attempt whose worker was
lost while its driver lived counts against ``max_retries``; an interruption by the driver's own
stop (Ctrl-C, SIGTERM, a driver killed and taken back by the next run) is not the trial's
failure and is retried without limit. The two are told apart by the reason stored with the
interruption (:func:`lost_its_worker`), so no column is needed and older stores resume.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nasforge.space import Arch
from nasforge.strategies import Strategy
from nasforge.trial import Trial, TrialStatus

#: the reason the loop stores with the trials it was running when the search stopped (Ctrl-C,
#: SIGTERM, an error in the driver)
STOPPED_BY_DRIVER = "the search stopped while this trial ran"
#: the reason the store writes by default: for a trial taken back from a driver that is gone
#: (``reclaim_running``), and by older versions whenever a search stopped
DRIVER_GONE = "the process running this trial stopped before it finished"


def lost_its_worker(trial: Trial) -> bool:
    """Whether this interrupted trial's worker died while its driver lived (an attempt that
    counts against ``max_retries``), rather than the driver stopping (which does not).

    Example:
        >>> from nasforge.trial import TrialStatus
        >>> stopped = Trial(0, None, TrialStatus.INTERRUPTED, error=STOPPED_BY_DRIVER)
        >>> lost_its_worker(stopped), lost_its_worker(Trial(1, None, TrialStatus.INTERRUPTED,
        ...     error="worker process 12 died (exit -9)"))
        (False, True)
    """
    first = (trial.error or "").split("\n", 1)[0].strip()
    return first not in (STOPPED_BY_DRIVER, DRIVER_GONE)


def first_line(error: str | None) -> str:
    """The first line of a trial's error text (its exception and message)."""
    return (error or "").strip().split("\n", 1)[0]


def trial_seed(experiment_seed: int, ask_index: int) -> int:
    """The seed of the trial made by the ``ask_index``-th ask (a retry keeps its trial's seed)."""
    state = np.random.SeedSequence([int(experiment_seed), int(ask_index)]).generate_state(1)[0]
    return int(state % (2**31 - 1))


@dataclass
class Retry:
    """An ask whose every attempt so far was interrupted: evaluate it again, same seed."""

    arch: Arch
    seed: int
    root: int  # number of the trial whose ask this retries
    losses: int  # attempts that lost their worker (see ``lost_its_worker``)
    order: int | None = None  # its place in an ordered run (``None``: from an earlier run)


@dataclass
class LoopState:
    """What replay recovers: how many asks were made, the asks still owed a result (a retry,
    or given up after too many lost workers), and how the finished trials ended, in order
    (the first line of each error, ``None`` for a result)."""

    asked: int = 0
    retries: list[Retry] = field(default_factory=list)
    abandoned: list[tuple[Trial, int]] = field(default_factory=list)
    outcomes: list[str | None] = field(default_factory=list)


def replay(strategy: Strategy, trials: Sequence[Trial], max_retries: int) -> LoopState:
    """Feed ``strategy`` the stored asks and tells in their original order.

    A strategy is deterministic for a seed and a sequence of calls, so after replay it is in the
    state it had when the experiment stopped. An ask whose every attempt was interrupted is
    queued for a retry, or given up as failed when more than ``max_retries`` of its attempts
    lost their worker (interruptions by the driver's stop do not count).
    """
    state = LoopState()
    events: list[tuple[int, int, Trial]] = []
    for t in trials:
        if t.ask_seq is not None:
            events.append((t.ask_seq, 0, t))
        if t.tell_seq is not None:
            events.append((t.tell_seq, 1, t))
    events.sort(key=lambda e: (e[0], e[1]))
    mismatch = 0
    for _, kind, t in events:
        if kind == 0:
            if strategy.ask() != t.arch:
                mismatch += 1
            state.asked += 1
        else:
            strategy.tell(t)
            failed = t.status == TrialStatus.FAILED
            state.outcomes.append(first_line(t.error) if failed else None)
    if mismatch:
        warnings.warn(
            f"strategy {strategy.name!r} asked {mismatch} different archs on replay than stored; "
            "it is not deterministic for its seed, so the resumed search may differ",
            RuntimeWarning,
            stacklevel=2,
        )
    chains: dict[int, list[Trial]] = {}
    for t in trials:
        root = t.number if t.retry_of is None else t.retry_of
        chains.setdefault(root, []).append(t)
    for root, chain in sorted(chains.items()):
        if any(t.tell_seq is not None for t in chain):
            continue
        last = chain[-1]
        losses = sum(1 for t in chain if lost_its_worker(t))
        if losses <= max_retries:
            state.retries.append(Retry(last.arch, last.seed, root, losses))
        else:
            state.abandoned.append((last, losses))
    return state


__all__ = [
    "DRIVER_GONE",
    "STOPPED_BY_DRIVER",
    "LoopState",
    "Retry",
    "first_line",
    "lost_its_worker",
    "replay",
    "trial_seed",
]
