"""Replay: rebuild a strategy from the stored trials, and what the loop still owes.

A strategy is deterministic for its seed and a sequence of asks and tells, so a resumed search
feeds it the stored asks and tells in their original order (``ask_seq`` and ``tell_seq`` on one
counter per experiment) and it is in the state it had when the search stopped.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nasforge.space import Arch
from nasforge.strategies import Strategy
from nasforge.trial import Trial


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
    attempts: int


@dataclass
class LoopState:
    """What replay recovers: how many asks were made, and the asks still owed a result."""

    asked: int = 0
    retries: list[Retry] = field(default_factory=list)
    abandoned: list[tuple[Trial, int]] = field(default_factory=list)


def replay(strategy: Strategy, trials: Sequence[Trial], max_retries: int) -> LoopState:
    """Feed ``strategy`` the stored asks and tells in their original order.

    A strategy is deterministic for a seed and a sequence of calls, so after replay it is in the
    state it had when the experiment stopped. An ask whose every attempt was interrupted is
    queued for a retry, or given up as failed after ``max_retries`` retries.
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
        if len(chain) - 1 < max_retries:
            state.retries.append(Retry(last.arch, last.seed, root, len(chain)))
        else:
            state.abandoned.append((last, len(chain)))
    return state


__all__ = ["LoopState", "Retry", "replay", "trial_seed"]
