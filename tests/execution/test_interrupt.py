"""A stop signal is never lost: one that arrives inside a finaliser (where Python ignores
exceptions) is remembered rather than raised there, the search loop raises it on its next turn,
and an interrupt a finaliser swallowed after a stop is not reported as an error."""

from __future__ import annotations

import os
import signal
import sys
from types import SimpleNamespace

import pytest

import nasforge as nf
from nasforge.execution.interrupt import (
    raise_if_stop_requested,
    stop_on_signals,
    stop_requested,
)
from nasforge.spaces import NB201Space
from nasforge.trial import TrialStatus


class _SignalsInFinaliser:
    """Sends SIGTERM to this process from ``__del__``, where an interrupt raised would be
    ignored ("Exception ignored in ..."); notes whether one was raised there."""

    raised_inside = False

    def __del__(self) -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(1000))  # the handler runs here, inside the finaliser
        except KeyboardInterrupt:
            _SignalsInFinaliser.raised_inside = True


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


def test_a_signal_inside_a_finaliser_is_remembered_not_raised_there() -> None:
    _SignalsInFinaliser.raised_inside = False
    with stop_on_signals(signal.SIGTERM):
        _SignalsInFinaliser()  # dropped at once: the signal arrives inside __del__
        assert stop_requested() and not _SignalsInFinaliser.raised_inside
        with pytest.raises(KeyboardInterrupt):
            raise_if_stop_requested()


def test_an_interrupt_a_finaliser_swallowed_after_a_stop_is_not_reported(monkeypatch) -> None:
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))
    interrupt, other = KeyboardInterrupt(), ValueError("a real problem")
    with stop_on_signals(signal.SIGTERM):
        sys.unraisablehook(SimpleNamespace(exc_value=interrupt))  # before a stop: reported
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
        sys.unraisablehook(SimpleNamespace(exc_value=KeyboardInterrupt()))  # ours: dropped
        sys.unraisablehook(SimpleNamespace(exc_value=other))  # anything else: reported
    assert reported == [interrupt, other]
    assert sys.unraisablehook is not None and sys.unraisablehook.__name__ == "<lambda>"


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
