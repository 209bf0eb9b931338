from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError, UnknownNameError
from nasforge.estimation import TrialContext, create_evaluator
from nasforge.estimation.proxies import list_proxies
from nasforge.estimation.zero_cost import ZeroCostEvaluator
from nasforge.spaces import NB201Space

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ARCH = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space(n_cells=1, channels=8)


@pytest.fixture(scope="module")
def signals() -> tuple[np.ndarray, np.ndarray]:
    """200 tiny 1-D signals of 4 classes; the class sets the frequency."""
    rng = np.random.default_rng(0)
    y = np.arange(200) % 4
    t = np.linspace(0, 1, 16)
    x = np.sin(2 * np.pi * (y[:, None] + 1) * t) + 0.3 * rng.normal(size=(200, 16))
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def evaluator(signals: tuple[np.ndarray, np.ndarray]) -> ZeroCostEvaluator:
    return ZeroCostEvaluator(signals, batch_size=16)


def test_evaluate_returns_every_proxy_finite_and_repeatable(
    evaluator: ZeroCostEvaluator, space: NB201Space
) -> None:
    arch = space.parse(ARCH)
    metrics = evaluator.evaluate(arch, TrialContext(space=space, seed=3))
    assert list(metrics) == list_proxies() and evaluator.metric_names == tuple(list_proxies())
    assert all(math.isfinite(v) for v in metrics.values())
    model = space.build(arch, evaluator.load_data().task)
    assert metrics["params"] == sum(p.numel() for p in model.parameters())
    assert evaluator.evaluate(arch, TrialContext(space=space, seed=3)) == metrics
    other = evaluator.evaluate(arch, TrialContext(space=space, seed=4))
    assert other["params"] == metrics["params"] and other["synflow"] != metrics["synflow"]


def test_the_seed_fixes_the_minibatch_from_the_training_split(
    evaluator: ZeroCostEvaluator,
) -> None:
    x, y = evaluator.minibatch(5)
    assert x.shape == (16, 1, 16) and y.shape == (16,)
    assert torch.equal(evaluator.minibatch(5)[0], x)
    assert not torch.equal(evaluator.minibatch(6)[0], x)
    x_train, _, x_val, _ = evaluator.load_data().split_validation(0.1, seed=0)
    train_rows = {row.tobytes() for row in x_train}
    assert all(row.numpy().tobytes() in train_rows for row in x)
    assert not any(row.tobytes() in train_rows for row in x_val)


def test_the_all_none_arch_scores_lowest(evaluator: ZeroCostEvaluator, space: NB201Space) -> None:
    rng = np.random.default_rng(0)
    archs = [space.parse(ALL_NONE)] + [space.sample(rng) for _ in range(4)]
    scores = [evaluator.evaluate(a, TrialContext(space=space, seed=0)) for a in archs]
    for name in ("synflow", "naswot", "jacob_cov", "snip", "grad_norm"):
        values = [s[name] for s in scores]
        assert all(math.isfinite(v) for v in values)
        assert values[0] == min(values), name


def test_scorer_gives_one_proxy_of_an_arch(evaluator: ZeroCostEvaluator, space: NB201Space) -> None:
    arch = space.parse(ARCH)
    score = evaluator.scorer(space, "naswot", seed=2)
    full = evaluator.evaluate(arch, TrialContext(space=space, seed=2))
    assert score(arch) == full["naswot"]
    with pytest.raises(UnknownNameError, match="proxy"):
        evaluator.scorer(space, "fisher")


def test_chosen_proxies_and_2d_images(space: NB201Space) -> None:
    x = np.random.default_rng(1).normal(size=(60, 1, 6, 6)).astype(np.float32)
    y = np.arange(60) % 3
    ev = create_evaluator("zero-cost", dataset=(x, y), proxies=["snip", "naswot"], batch_size=8)
    assert isinstance(ev, ZeroCostEvaluator)
    metrics = ev.evaluate(space.parse(ARCH), TrialContext(space=space))
    assert list(metrics) == ["snip", "naswot", "params"] and metrics["snip"] > 0
    assert pickle.loads(pickle.dumps(ev)).proxies == ["snip", "naswot"]


def test_user_errors_name_the_field(
    signals: tuple[np.ndarray, np.ndarray], space: NB201Space
) -> None:
    with pytest.raises(UnknownNameError, match="unknown proxy 'zen'"):
        ZeroCostEvaluator(signals, proxies=["zen"])
    with pytest.raises(ConfigError, match="proxies='synflow'"):
        ZeroCostEvaluator(signals, proxies="synflow")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="batch_size=1"):
        ZeroCostEvaluator(signals, batch_size=1)
    with pytest.raises(UnknownNameError, match="dataset"):
        ZeroCostEvaluator("cifar-1000")
    too_big = ZeroCostEvaluator(signals, batch_size=500)
    with pytest.raises(ConfigError, match="batch_size=500"):
        too_big.evaluate(space.parse(ARCH), TrialContext(space=space))
    with pytest.raises(ConfigError, match=r"ctx\.space"):
        ZeroCostEvaluator(signals).evaluate(space.parse(ARCH), TrialContext())


def test_scores_match_those_recorded_before_the_toolkit(space: NB201Space) -> None:
    """Recorded with ``digits`` and seed 0 before device resolution and seeding moved to
    ``nasforge.training`` (bit-identical after it on the machine that recorded them)."""
    arch = space.parse(
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|"
    )
    metrics = ZeroCostEvaluator("digits", batch_size=16).evaluate(
        arch, TrialContext(space=space, seed=0)
    )
    recorded = {
        "synflow": 549329.848883994,
        "naswot": 97.48102012679266,
        "jacob_cov": -21.42102071747045,
        "snip": 15.130463510751724,
        "grad_norm": 9.65324580669403,
        "params": 32258.0,
    }
    assert metrics == pytest.approx(recorded, rel=1e-5)
