from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError, UnknownNameError
from nasforge.estimation.proxies import (
    JACOB_COV_K,
    compute_proxies,
    compute_proxy,
    jacob_cov,
    list_proxies,
    naswot,
    vote,
)
from nasforge.space import Task
from nasforge.spaces import NB201Space

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
CONVS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|"
    "+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
)


def batch(
    shape: tuple[int, ...], n: int = 12, classes: int = 4
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


def nb201(key: str, shape: tuple[int, ...], classes: int = 4) -> nn.Module:
    space = NB201Space(n_cells=1, channels=8)
    torch.manual_seed(0)
    return space.build(space.parse(key), Task(input_shape=shape, num_classes=classes))


@pytest.mark.parametrize("name", list_proxies())
def test_each_proxy_leaves_the_model_untouched(name: str) -> None:
    model = nb201(CONVS, (1, 16))
    x, y = batch((1, 16))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    compute_proxy(name, model, x, y)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.training  # the mode of the caller's model is kept too


@pytest.mark.parametrize("shape", [(1, 16), (2, 6, 6)], ids=["1d", "2d"])
def test_proxies_are_finite_and_repeatable_on_1d_and_2d_inputs(shape: tuple[int, ...]) -> None:
    model = nb201(CONVS, shape)
    x, y = batch(shape)
    first = compute_proxies(model, x, y)
    assert list(first) == list_proxies()
    assert all(math.isfinite(v) for v in first.values())
    assert first["synflow"] > 0 and first["snip"] > 0 and first["grad_norm"] > 0
    assert first["naswot"] > 0  # a non-singular integer kernel: log-determinant >= 0
    assert compute_proxies(model, x, y) == first


def test_a_degenerate_arch_gets_finite_lowest_scores() -> None:
    x, y = batch((1, 16))
    dead = compute_proxies(nb201(ALL_NONE, (1, 16)), x, y)
    alive = compute_proxies(nb201(CONVS, (1, 16)), x, y)
    assert dead["synflow"] == dead["snip"] == dead["grad_norm"] == 0.0
    assert dead["naswot"] == -1.0
    assert dead["jacob_cov"] == pytest.approx(-12 * (math.log(JACOB_COV_K) + 1 / JACOB_COV_K))
    for name in ("synflow", "naswot", "jacob_cov", "snip", "grad_norm"):
        assert math.isfinite(dead[name]) and dead[name] < alive[name], name


def test_synflow_of_a_bias_free_linear_chain_is_depth_times_the_path_sum() -> None:
    # R = 1' |W2| |W1| 1, and each layer of a bias-free chain carries the whole flow R
    torch.manual_seed(0)
    first, second = nn.Linear(5, 4, bias=False), nn.Linear(4, 3, bias=False)
    model = nn.Sequential(nn.Flatten(), first, nn.ReLU(), second)
    w1, w2 = (m.weight.detach().abs().double() for m in (first, second))
    path_sum = float(torch.ones(3, dtype=torch.float64) @ w2 @ w1 @ torch.ones(5).double())
    x, y = batch((1, 5), classes=3)
    assert compute_proxy("synflow", model, x, y) == pytest.approx(2 * path_sum, rel=1e-12)


def test_snip_and_grad_norm_match_autograd_by_hand() -> None:
    torch.manual_seed(0)
    first, second = nn.Linear(6, 5), nn.Linear(5, 3)
    model = nn.Sequential(nn.Flatten(), first, nn.ReLU(), second)
    x, y = batch((1, 6), classes=3)
    loss = nn.functional.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, [first.weight, second.weight])
    weights = [first.weight.detach(), second.weight.detach()]
    snip_by_hand = sum(float((w * g).abs().sum()) for w, g in zip(weights, grads, strict=True))
    norm_by_hand = sum(float(g.norm()) for g in grads)
    scores = compute_proxies(model, x, y, ["snip", "grad_norm", "params"])
    assert scores["snip"] == pytest.approx(snip_by_hand, rel=1e-6)
    assert scores["grad_norm"] == pytest.approx(norm_by_hand, rel=1e-6)
    assert scores["params"] == 6 * 5 + 5 + 5 * 3 + 3


def test_naswot_is_the_log_determinant_of_the_hamming_kernel() -> None:
    # codes (1,0,1) and (1,1,0): N_A = 3, Hamming distance 2, K = [[3, 1], [1, 3]], det 8
    x = torch.tensor([[[1.0, -1.0, 2.0]], [[0.5, 3.0, -2.0]]])
    model = nn.Sequential(nn.Flatten(), nn.ReLU())
    assert naswot(model, x, torch.zeros(2, dtype=torch.long)) == pytest.approx(math.log(8.0))
    same = torch.tensor([[[1.0, -1.0]], [[2.0, -3.0]]])  # identical codes: K is singular
    assert naswot(model, same, torch.zeros(2, dtype=torch.long)) == -1.0


def test_jacob_cov_of_a_linear_model_has_one_nonzero_eigenvalue() -> None:
    # every sample has the same input gradient W' 1: the correlation matrix is all ones
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(7, 3))
    n, k = 5, JACOB_COV_K
    x, y = batch((1, 7), n=n, classes=3)
    expected = -(math.log(n + k) + 1 / (n + k)) - (n - 1) * (math.log(k) + 1 / k)
    assert jacob_cov(model, x, y) == pytest.approx(expected, rel=1e-9)


def test_vote_is_the_mean_rank_of_the_voters() -> None:
    scores = {"synflow": [3.0, 1.0, 2.0], "jacob_cov": [1.0, 2.0, 3.0], "snip": [9.0, 8.0, 7.0]}
    np.testing.assert_allclose(vote(scores), [(3 + 1 + 3) / 3, (1 + 2 + 2) / 3, (2 + 3 + 1) / 3])
    np.testing.assert_allclose(vote(scores, ["synflow"]), [3, 1, 2])
    with pytest.raises(ConfigError, match="naswot"):
        vote(scores, ["naswot"])


def test_unknown_or_malformed_proxy_names_are_user_errors() -> None:
    x, y = batch((1, 4))
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 4))
    with pytest.raises(UnknownNameError, match="unknown proxy 'fisher'"):
        compute_proxies(model, x, y, ["fisher"])
    with pytest.raises(ConfigError, match="not a string"):
        compute_proxies(model, x, y, "synflow")
    with pytest.raises(ConfigError, match="distinct"):
        compute_proxies(model, x, y, ["snip", "snip"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_proxies_on_cuda_match_the_cpu() -> None:
    model = nb201(CONVS, (1, 16))
    x, y = batch((1, 16))
    cpu = compute_proxies(model, x, y, device="cpu")
    gpu = compute_proxies(model, x, y, device="cuda")
    assert next(model.parameters()).device.type == "cpu"
    for name in list_proxies():
        assert gpu[name] == pytest.approx(cpu[name], rel=1e-2), name


def test_a_network_without_parameters_is_degenerate_not_an_error() -> None:
    model = nn.Sequential(nn.Flatten(), nn.ReLU())
    x, y = batch((1, 4))
    scores = compute_proxies(model, x, y)
    assert scores["synflow"] == scores["snip"] == scores["grad_norm"] == scores["params"] == 0.0
    assert all(math.isfinite(v) for v in scores.values())
