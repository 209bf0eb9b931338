"""The sequence evaluator: metrics per task, parameter matching, determinism, errors."""

from __future__ import annotations

import pytest

from nasforge.errors import ConfigError
from nasforge.estimation import TrialContext, create_evaluator
from nasforge.estimation.sequence import SequenceEvaluator, hidden_for_params
from nasforge.spaces import NB201Space
from nasforge.spaces.rnn_cell import RnnCellSpace

SPACE = RnnCellSpace()
SMALL = {"samples": 32, "epochs": 1, "hidden": 8}


@pytest.mark.parametrize(
    ("task", "options", "metric"),
    [
        ("adding", {"length": 12}, "val_mse"),
        ("copy", {"length": 4}, "val_acc"),
        ("mnist1d", {}, "val_acc"),
        ("chars", {"length": 12}, "val_bpc"),
    ],
)
def test_each_task_reports_its_metric(task: str, options: dict[str, int], metric: str) -> None:
    ev = create_evaluator("sequence", task=task, **SMALL, **options)
    reports: list[tuple[int, dict[str, float]]] = []
    ctx = TrialContext(space=SPACE, seed=0, reporter=lambda s, m: reports.append((s, dict(m))))
    metrics = ev.evaluate(SPACE.reference("lstm"), ctx)
    assert ev.metric_names is not None and set(metrics) == set(ev.metric_names)
    assert metric in metrics and reports[-1][0] == 1 and metric in reports[-1][1]
    assert metrics["hidden"] == 8
    if metric == "val_bpc":  # a near-uniform guess over 98 characters: about log2(98) bits
        assert 4.0 < metrics["val_bpc"] < 8.0


def test_same_seed_same_metrics_and_seed_changes_them() -> None:
    ev = SequenceEvaluator("adding", length=10, **SMALL)
    arch = SPACE.reference("gru")
    first = ev.evaluate(arch, TrialContext(space=SPACE, seed=1))
    assert ev.evaluate(arch, TrialContext(space=SPACE, seed=1)) == first
    assert ev.evaluate(arch, TrialContext(space=SPACE, seed=2)) != first


def test_params_picks_the_hidden_size_nearest_the_target() -> None:
    ev = SequenceEvaluator("adding", length=10, samples=32, epochs=1, params=3000)
    counts = {}
    for name in ("lstm", "gru", "rnn"):
        arch = SPACE.reference(name)
        metrics = ev.evaluate(arch, TrialContext(space=SPACE))
        counts[name] = metrics["params"]
        hidden = int(metrics["hidden"])
        assert hidden == hidden_for_params(SPACE, arch, ev.data(), 3000)
        assert abs(metrics["params"] - 3000) < 0.1 * 3000
    assert counts["rnn"] != counts["lstm"]  # matched by count, not width


def test_max_hidden_caps_a_cell_with_few_weights() -> None:
    arch = SPACE.parse("n0=tanh(add(x,h));h=n0")  # weights: the map of x only
    free = SequenceEvaluator("adding", length=8, samples=32, params=3000)
    capped = SequenceEvaluator("adding", length=8, samples=32, params=3000, max_hidden=64)
    assert free.hidden_size(SPACE, arch) > 500
    assert capped.hidden_size(SPACE, arch) == 64


def test_fidelity_epochs_overrides_the_option() -> None:
    ev = SequenceEvaluator("adding", length=8, **SMALL)
    metrics = ev.evaluate(SPACE.reference("rnn"), TrialContext(space=SPACE, fidelity={"epochs": 2}))
    assert metrics["epochs"] == 2 and ev.max_step({}) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "speech"}, "task='speech'; allowed"),
        ({"hidden": 8, "params": 100}, "hidden and params are both set"),
        ({"epochs": 0}, "epochs=0"),
        ({"optimizer": "lbfgs"}, "optimizer='lbfgs'; allowed"),
        ({"clip": -1.0}, "clip=-1.0"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SequenceEvaluator(**options)  # type: ignore[arg-type]


def test_refuses_a_space_without_recurrent_cells() -> None:
    space = NB201Space(n_cells=1, channels=4)
    ev = SequenceEvaluator("adding", length=8, **SMALL)
    with pytest.raises(ConfigError, match="allowed: the rnn-cell space"):
        ev.evaluate(
            space.sample(__import__("numpy").random.default_rng(0)), TrialContext(space=space)
        )
    with pytest.raises(ConfigError, match="fidelity has unknown key 'channels'"):
        ev.check_fidelity({"channels": 4}, space)
