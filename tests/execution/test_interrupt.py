"""A signal's stop survives an interrupt that a finaliser swallows: the search loop raises it
again on its next turn, so SIGTERM (or Ctrl-C) always ends the search."""

from __future__ import annotations

import os
import signal

import pytest

import nasforge as nf
from nasforge.execution.interrupt import (
    raise_if_stop_requested,
    stop_on_signals,
    stop_requested,
)
from nasforge.spaces import NB201Space
from nasforge.trial import TrialStatus

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class _SignalsInFinaliser:
    """Sends SIGTERM to this process from ``__del__``: the handler's ``KeyboardInterrupt`` is
    raised inside the finaliser, where Python prints "Exception ignored" and goes on."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def test_the_handler_raises_remembers_and_restores() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(signal.SIGTERM):
        assert not stop_requested()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
        assert stop_requested()
        with pytest.raises(KeyboardInterrupt):
            raise_if_stop_requested()
    assert signal.getsignal(signal.SIGTERM) is before and not stop_requested()
    raise_if_stop_requested()  # nothing asked: nothing raised


def test_an_interrupt_swallowed_by_a_finaliser_is_still_a_stop() -> None:
    with stop_on_signals(signal.SIGTERM):
        _SignalsInFinaliser()  # dropped at once: the interrupt is raised and ignored in __del__
        assert stop_requested()
        with pytest.raises(KeyboardInterrupt):
            raise_if_stop_requested()


def test_the_search_loop_stops_after_a_swallowed_interrupt(tmp_path) -> None:
    calls = []

    def evaluate(arch: nf.Arch) -> dict[str, float]:
        calls.append(arch.key)
        if len(calls) == 3:
            _SignalsInFinaliser()  # SIGTERM arrives, its interrupt is lost in the finaliser
        return {"val_acc": float(arch.key.count("nor_conv_3x3"))}

    exp = nf.Experiment(
        NB201Space(n_cells=1, channels=4),
        strategy="random",
        evaluator=evaluate,
        storage=tmp_path / "s.db",
        name="stop",
    )
    with stop_on_signals(signal.SIGTERM), pytest.raises(KeyboardInterrupt):
        exp.run(max_trials=50, progress=False)
    assert len(calls) == 3  # stopped on the loop's next turn, not after 50 trials
    assert [t.status for t in exp.trials()].count(TrialStatus.COMPLETE) <= 3
