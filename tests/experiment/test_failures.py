"""A trial that runs out of memory or whose loss turns NaN fails alone: the experiment finishes its
budget with that trial recorded ``failed`` with the reason, and every other trial intact."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
import torch
from torch import nn

from nasforge import Experiment
from nasforge.estimation.train import TrainEvaluator
from nasforge.space import Arch, Task
from nasforge.spaces import NB201Space
from nasforge.trial import Trial, TrialStatus

TRIALS = 5
#: digits, 2 epochs on a quarter of the training set: 3 steps of 128 per epoch
FIDELITY = {"epochs": 2, "train_fraction": 0.25}
OOM_AT_STEP, NAN_AT_STEP = 2, 5  # training forwards: epoch 1 step 2, epoch 2 step 2


class Fault(nn.Module):
    """The network of a faulty arch: from a given training step it runs out of memory (as CUDA
    reports it) or outputs NaN."""

    def __init__(self, net: nn.Module, kind: str) -> None:
        super().__init__()
        self.net, self.kind, self.steps = net, kind, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        if not self.training:
            return out
        self.steps += 1
        if self.kind == "oom" and self.steps >= OOM_AT_STEP:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 24.00 GiB")
        if self.kind == "nan" and self.steps >= NAN_AT_STEP:
            return out * float("nan")
        return out


class FaultySpace(NB201Space):
    """NB201 (1 cell per stage, 8 channels) whose listed archs fail; remembers what it built."""

    def __init__(self, faults: dict[str, str]) -> None:
        super().__init__(n_cells=1, channels=8)
        self.faults = faults
        self.built: list[weakref.ref[nn.Module]] = []

    def build(self, arch: Arch, task: Task, **sizes: int | None) -> nn.Module:  # type: ignore[override]
        model = super().build(arch, task, **sizes)
        if arch.key in self.faults:
            model = Fault(model, self.faults[arch.key])
        self.built.append(weakref.ref(model))
        return model


def search(faults: dict[str, str]) -> tuple[Experiment, FaultySpace]:
    space = FaultySpace(faults)
    experiment = Experiment(
        space,
        strategy="random",  # its asks do not depend on results, so both runs try the same archs
        evaluator=TrainEvaluator("digits", threads=1),
        objectives={"val_acc": "max"},
        storage="sqlite:///:memory:",
        seed=3,
        fidelity=FIDELITY,
    )
    experiment.run(max_trials=TRIALS, progress=False)
    return experiment, space


@pytest.fixture(scope="module")
def clean() -> list[Trial]:
    experiment, _ = search({})
    return experiment.trials()


def test_out_of_memory_and_nan_fail_their_trials_and_nothing_else(clean: list[Trial]) -> None:
    assert [t.status for t in clean] == [TrialStatus.COMPLETE] * TRIALS
    oom, nan = clean[1].arch.key, clean[3].arch.key
    experiment, space = search({oom: "oom", nan: "nan"})
    trials = experiment.trials()  # read back from the store

    assert len(trials) == TRIALS and [t.arch for t in trials] == [t.arch for t in clean]
    assert [t.status for t in trials] == [
        TrialStatus.COMPLETE,
        TrialStatus.FAILED,
        TrialStatus.COMPLETE,
        TrialStatus.FAILED,
        TrialStatus.COMPLETE,
    ]
    assert trials[1].error is not None and trials[1].error.startswith(
        "TrialOutOfMemoryError: out of memory on cpu with batch_size=128: lower batch_size"
    )
    assert "CUDA out of memory. Tried to allocate 24.00 GiB" in trials[1].error
    assert trials[3].error is not None and trials[3].error.startswith(
        "NonFiniteLossError: non-finite loss at epoch 2 step 2 (of 3 per epoch"
    )
    assert "lr=0.1" in trials[3].error
    # the NaN trial keeps the curve of the epoch it finished; the out-of-memory one has none
    assert list(trials[3].intermediate) == [1]
    assert trials[3].intermediate[1] == clean[3].intermediate[1]
    assert trials[1].intermediate == {} and trials[1].scores is None

    for index in (0, 2, 4):  # the others: same metrics, curves and scores as without faults
        assert trials[index].metrics == clean[index].metrics
        assert trials[index].intermediate == clean[index].intermediate
        assert trials[index].scores == clean[index].scores
        assert np.isfinite(trials[index].metrics["val_acc"])
    best = experiment.best()
    assert best is not None and best.number in (0, 2, 4)
    assert [ref() for ref in space.built] == [None] * TRIALS  # every model was freed
