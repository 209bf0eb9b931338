"""A stop signal is never lost: one that arrives inside a finaliser (where Python ignores
exceptions) is remembered rather than raised there; the search loop, a one-shot search and a
trial's training raise it on their next turn or step; and an interrupt a finaliser swallowed
after a stop is not reported as an error."""

from __future__ import annotations

import os
import signal
import sys
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import nasforge as nf
from nasforge.data import load_dataset
from nasforge.interrupt import (
    raise_if_stop_requested,
    stop_on_signals,
    stop_requested,
)
from nasforge.oneshot.methods import Darts
from nasforge.spaces import NB201Space
from nasforge.training import Precision, batch_bounds, prepare_data, train_epoch
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


def test_a_one_shot_search_stops_within_a_step_of_a_swallowed_interrupt(
    tmp_path, monkeypatch
) -> None:
    steps = []
    draw = Darts.before_weight_step  # whichever class defines it, Darts's own resolution

    def step(self, generator):
        steps.append(1)
        if len(steps) == 3:
            _SignalsInFinaliser()  # SIGTERM in the supernet's third step, swallowed there
        draw(self, generator)

    monkeypatch.setattr(Darts, "before_weight_step", step)
    exp = nf.Experiment(
        NB201Space(n_cells=1, channels=4),
        strategy="darts",
        strategy_options={"epochs": 3, "batch_size": 64, "report_archs": 0},
        evaluator=nf.create_evaluator("train", dataset="digits", epochs=1, val_fraction=0.8),
        storage=tmp_path / "s.db",
        name="oneshot",
    )
    with stop_on_signals(signal.SIGTERM), pytest.raises(KeyboardInterrupt):
        exp.run(progress=False)
    assert len(steps) == 3  # the next step raised it, not the end of three epochs


def test_a_trial_s_training_stops_within_a_step_of_a_swallowed_interrupt() -> None:
    data = prepare_data(load_dataset("digits"), torch.device("cpu"), 0.1, 0)
    forwards = []

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(64, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            forwards.append(1)
            if len(forwards) == 2:
                _SignalsInFinaliser()  # SIGTERM in the second step, swallowed there
            return self.linear(x.flatten(1))

    model = Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.ConstantLR(optimizer, 1.0)
    batches = batch_bounds(len(data.y_train), 32)
    with stop_on_signals(signal.SIGTERM), pytest.raises(KeyboardInterrupt):
        train_epoch(
            model,
            data,
            None,
            batches,
            optimizer,
            schedule,
            torch.Generator(),
            Precision(torch.device("cpu")),
        )
    assert len(forwards) == 2 < len(batches)  # the next step raised it, not the epoch's end
