"""The supernet: a mixed operation with one-hot weights is the chosen sub-network, every
relaxation runs forward and backward and moves the architecture parameters, what the supernet
holds fixed is refused where it must be, and the memory estimate scales with the batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.oneshot.supernet import MODES, Supernet, estimate_memory, memory_advice
from nasforge.space import Task
from nasforge.spaces import DefinedSpace, NB201Space
from nasforge.spaces.examples import ConvNet

TASK = Task((1, 12), 3)


def standalone_from(supernet: Supernet, arch: nf.Arch) -> torch.nn.Module:
    """``space.build(arch)`` with the weights of the candidates ``arch`` chooses in ``supernet``."""
    model = supernet.space.build(arch, TASK, n_cells=1, channels=4)
    path = supernet.path_of(arch)
    state = {}
    for key, value in supernet.net.state_dict().items():
        parts = key.split(".")
        if "candidates" in parts:
            at = parts.index("candidates")
            label = _label_of(supernet, ".".join(parts[:at]))
            if parts[at + 1] != path[label]:
                continue
            parts = parts[:at] + parts[at + 2 :]
        state[".".join(parts)] = value
    model.load_state_dict(state)
    return model


def _label_of(supernet: Supernet, prefix: str) -> str:
    return supernet.net.get_submodule(prefix).label  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["path", "softmax"])
def test_one_hot_mixed_ops_compute_the_chosen_network(mode: str) -> None:
    space = NB201Space(n_cells=1, channels=4)
    supernet = Supernet(space, TASK, bn_affine=True, bn_track_stats=True).eval()
    rng = np.random.default_rng(0)
    x = torch.randn(5, 1, 12)
    for _ in range(5):
        arch = space.sample(rng)
        path = supernet.path_of(arch)
        supernet.set_mode(mode)
        if mode == "path":
            supernet.use(path)
        else:  # weights exactly one-hot: every other candidate weighted by exp(-inf) = 0
            with torch.no_grad():
                for label, names in supernet.labels.items():
                    alpha = torch.full((len(names),), -torch.inf)
                    alpha[names.index(path[label])] = 0.0
                    supernet.alphas[label].copy_(alpha)
        standalone = standalone_from(supernet, arch).eval()
        torch.testing.assert_close(supernet(x), standalone(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_every_relaxation_trains_forward_and_backward(mode: str) -> None:
    space = NB201Space(n_cells=1, channels=4)
    supernet = Supernet(space, TASK)
    supernet.set_mode(mode)
    supernet.set_generator(torch.Generator().manual_seed(0))
    before = {k: v.detach().clone() for k, v in supernet.alphas.items()}
    optimizer = torch.optim.Adam(supernet.arch_parameters(), lr=0.05)
    x, y = torch.randn(8, 1, 12), torch.randint(0, 3, (8,))
    for step in range(3):
        if mode == "path":
            supernet.sample_uniform(torch.Generator().manual_seed(step))
        loss = torch.nn.functional.cross_entropy(supernet(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    moved = any(not torch.equal(before[k], v) for k, v in supernet.alphas.items())
    assert moved == (mode != "path")  # a path carries no gradient to the weights of choices
    assert set(supernet.weights()) == set(supernet.labels)


def test_path_mode_touches_only_the_chosen_candidates() -> None:
    supernet = Supernet(NB201Space(n_cells=1, channels=4), TASK)
    supernet.set_mode("path")
    path = supernet.sample_uniform(torch.Generator().manual_seed(3))
    supernet(torch.randn(4, 1, 12)).sum().backward()
    touched = set()
    for label, mixed_ops in supernet._mixed.items():
        for mixed in mixed_ops:
            for name, module in mixed.candidates.items():
                for p in module.parameters():
                    if p.grad is not None:
                        touched.add((label, name))
    # a chosen operation whose node feeds only "none" edges gets no gradient either
    assert touched and all(path[label] == name for label, name in touched)


def test_a_user_space_held_values_and_sampled_inputs() -> None:
    space = DefinedSpace(ConvNet)
    supernet = Supernet(space, TASK, fixed={"width_mult": 2, "depth": 2})
    assert supernet.held["width_mult"] == 2 and supernet.held["depth"] == 2
    assert set(supernet.input_labels) == {"skip1"}  # block 2 is beyond the held depth
    with pytest.raises(ConfigError, match="input choice 'skip1' cannot be relaxed"):
        supernet.set_mode("softmax")
    supernet.set_mode("path")
    supernet.use({**supernet.sample_uniform(torch.Generator().manual_seed(0)), "skip1": "1"})
    assert supernet(torch.randn(2, 1, 12)).shape == (2, 3)
    arch = supernet.derive()
    assert arch["width_mult"] == 2 and arch["depth"] == 2 and arch["block2"] is None
    with pytest.raises(ConfigError, match=r"fixed: width_mult=3; allowed: 1 or 2"):
        Supernet(space, TASK, fixed={"width_mult": 3})


def test_batch_norm_setting_reaches_every_candidate() -> None:
    supernet = Supernet(NB201Space(n_cells=1, channels=4), TASK)
    norms = [
        m
        for mixed in supernet._mixed.values()
        for op in mixed
        for m in op.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)
    assert {"none", "skip_connect", "avg_pool_3x3"} == supernet.parameter_free()


def test_pool_norm_normalises_pooling_in_the_weighted_sum_only() -> None:
    space = NB201Space(n_cells=1, channels=4)
    plain, normed = (Supernet(space, TASK, pool_norm=flag) for flag in (False, True))
    normed.load_state_dict(plain.state_dict())  # same weights, same alphas
    x = 5.0 + 3.0 * torch.randn(6, 1, 12)  # far from zero mean, unit scale
    mixed = normed._mixed["edge_1_0"][0]
    assert [mixed.names[i] for i, p in enumerate(mixed._pooling) if p] == ["avg_pool_3x3"]
    with torch.no_grad():
        for net in (plain, normed):
            for label, names in net.labels.items():  # every edge: average pooling alone
                alpha = torch.full((len(names),), -torch.inf)
                alpha[names.index("avg_pool_3x3")] = 0.0
                net.alphas[label].copy_(alpha)
    features = mixed.candidates["avg_pool_3x3"]
    inner = torch.randn(6, 4, 12) * 3.0 + 5.0
    out = mixed(inner)
    # the pooled output, batch-normalised per channel: mean 0, variance 1
    torch.testing.assert_close(out.mean(dim=(0, 2)), torch.zeros(4), atol=1e-5, rtol=0)
    variance = out.var(dim=(0, 2), unbiased=False)
    torch.testing.assert_close(variance, torch.ones(4), atol=1e-3, rtol=0)
    torch.testing.assert_close(plain._mixed["edge_1_0"][0](inner), features(inner))
    assert not torch.allclose(plain(x), normed(x))
    for net in (plain, normed):  # one candidate at a time: the arch's own network either way
        net.set_mode("path")
        net.use({label: "avg_pool_3x3" for label in net.labels})
    torch.testing.assert_close(plain(x), normed(x))


def test_memory_estimate_scales_with_the_batch_and_refuses_in_one_line() -> None:
    supernet = Supernet(NB201Space(n_cells=1, channels=4), TASK)
    small, large = (estimate_memory(supernet, TASK, b)["peak_bytes"] for b in (8, 64))
    assert 0 < small < large
    advice = memory_advice(large, large / 4, 64, "cpu")
    assert advice is not None and "batch_size <= 14" in advice and "\n" not in advice
    assert memory_advice(small, large, 8, "cpu") is None
    darts = memory_advice(large, large / 4, 64, "cuda:0", partial_channels=True)
    assert darts is not None and "batch_size <= 14, partial_channels: 4 (PC-DARTS)" in darts
