"""``Evaluator.check_fidelity``: what a trial would refuse, said before any trial runs, in the
words the trial would use."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nasforge.errors import ConfigError
from nasforge.estimation import Evaluator, FunctionEvaluator, TrialContext
from nasforge.estimation.tabular import TabularEvaluator
from nasforge.estimation.train import TrainEvaluator
from nasforge.estimation.zero_cost import ZeroCostEvaluator
from nasforge.spaces import NB201Space

SPACE = NB201Space(n_cells=1, channels=4)
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|"


def refusal(call: Any) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize(
    "fidelity",
    [
        {"epoch": 2},
        {"epochs": 0},
        {"epochs": 2.5},
        {"train_fraction": 0.0},
        {"n_cells": -1},
        {"channels": "8"},
    ],
)
def test_train_refuses_at_once_what_a_trial_would(fidelity: dict[str, Any]) -> None:
    evaluator = TrainEvaluator("digits", epochs=1)
    before = refusal(lambda: evaluator.check_fidelity(fidelity, SPACE))
    ctx = TrialContext(space=SPACE, fidelity=fidelity, device="cpu")
    assert before == refusal(lambda: evaluator.evaluate(SPACE.parse(ARCH), ctx))


@pytest.mark.parametrize("fidelity", [{"epochs": 3}, {"epochs": "12"}, {"epochs": True}])
def test_tabular_refuses_at_once_what_a_lookup_would(fidelity: dict[str, Any]) -> None:
    evaluator = TabularEvaluator()
    arch = evaluator.space().parse(evaluator.table_.keys[0])
    before = refusal(lambda: evaluator.check_fidelity(fidelity, evaluator.space()))
    assert before == refusal(lambda: evaluator.evaluate(arch, TrialContext(fidelity=fidelity)))
    assert before.startswith("tabular evaluator: fidelity 'epochs' must be 12 or 200, got")


def test_what_each_evaluator_accepts() -> None:
    train = TrainEvaluator("digits")
    for fine in ({}, {"epochs": 3, "train_fraction": 0.5, "n_cells": 2.0}, {"epochs": None}):
        train.check_fidelity(fine, SPACE)
    tabular = TabularEvaluator()
    for fine in ({}, {"epochs": 200}, {"epochs": 12.0}, {"epochs": None}):
        tabular.check_fidelity(fine, tabular.space())
    message = "fidelity has unknown key 'n_cells'; allowed: 'epochs'"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        tabular.check_fidelity({"n_cells": 1}, tabular.space())
    proxies = ZeroCostEvaluator("digits")
    proxies.check_fidelity({}, SPACE)
    with pytest.raises(ConfigError, match=r"^fidelity has unknown key 'epochs'; allowed: none"):
        proxies.check_fidelity({"epochs": 1}, SPACE)
    # an evaluator that cannot say accepts every fidelity; its trials read it themselves
    FunctionEvaluator(lambda arch: 1.0).check_fidelity({"anything": [1, 2]}, SPACE)


def test_check_device_asks_the_machine_only_where_the_evaluator_trains() -> None:
    FunctionEvaluator(lambda arch: 1.0).check_device("cuda:99")  # uses no device
    for evaluator in (TrainEvaluator("digits"), ZeroCostEvaluator("digits")):
        evaluator.check_device("cpu")
        evaluator.check_device("auto")
        with pytest.raises(ConfigError, match=r"^device='cuda:99' but"):
            evaluator.check_device("cuda:99")
    # the evaluator's own device option, when set, is the one its trials use
    TrainEvaluator("digits", device="cpu").check_device("cuda:99")


def test_device_options_must_look_like_devices() -> None:
    for make in (TrainEvaluator, ZeroCostEvaluator):
        with pytest.raises(ConfigError, match=r"^device='gpu' is not a device; allowed: 'auto'"):
            make("digits", device="gpu")


def test_runtime_options_are_declared() -> None:
    assert Evaluator.runtime_options == ()
    assert set(TrainEvaluator.runtime_options) == {
        "device",
        "threads",
        "max_device_data_mb",
        "keep_weights",
    }
    assert set(ZeroCostEvaluator.runtime_options) == {"device", "threads"}
