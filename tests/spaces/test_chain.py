"""The ``chain`` space: MetaQNN / NAS-RL layer sequences, their rules, skips and networks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Task
from nasforge.spaces import create_space
from nasforge.spaces.chain import ChainSpace, concat_padded

POOL_AT_ONE = (
    "depth=3,layer0=pool,pool0=k5s3,layer1=pool,pool1=k5s3,layer2=pool,pool2=k2s2,fc_layers=0"
)
SKIP = (
    "depth=3,layer0=conv,kernel0=3,width0=1,stride0=1,layer1=conv,kernel1=3,width1=1,stride1=2,"
    "layer2=conv,skip2_0={skip},kernel2=3,width2=1,stride2=1,fc_layers=0"
)


def layer_outputs(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """What each layer of the chain outputs for ``x``."""
    outputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o)) for m in model.layers]
    model(x)
    for hook in hooks:
        hook.remove()
    return outputs


def test_dims_and_conditions() -> None:
    space = create_space("chain")
    assert isinstance(space, ChainSpace) and space.name == "chain"
    assert space.dim("depth").values() == [1, 2, 3, 4, 5, 6]
    assert [n for n in space.names if n.startswith("skip")] == [
        f"skip{i}_{k}" for i in range(2, 6) for k in range(i - 1)
    ]
    assert space.dim("skip3_1").when == {"depth": (4, 5, 6), "layer3": ("conv",)}
    assert space.dim("pool2").when == {"depth": (3, 4, 5, 6), "layer2": ("pool",)}
    assert space.dim("fc_layers").values() == [0, 1, 2]
    assert space.dim("fc1").when == {"fc_layers": (2,)}
    # smallest: one layer (18 convs + 3 pools), 1 + 3 + 9 heads
    assert create_space("chain", max_layers=1).size() == 21 * 13
    small = ChainSpace(max_layers=2, input_size=2)  # a pool reaches 1, the next may not pool
    assert small.size() == len(list(small.enumerate()))


def test_moves_respect_the_one_wide_rule() -> None:
    space = ChainSpace(max_layers=6, input_size=8)  # small input: the rule bites often
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(150)]
    made = list(archs)
    for a, b in itertools.pairwise(archs):
        made += [space.mutate(a, rng), space.crossover(a, b, rng)]
    made += [near for arch in archs[:10] for near in space.neighbors(arch)]
    pools_of_one = 0
    for arch in made:
        assert space.violation(arch) is None, arch.key
        sizes = space.map_sizes(arch)
        for i in range(arch["depth"]):
            assert arch[f"layer{i}"] == "conv" or sizes[i] > 1, arch.key
            pools_of_one += arch[f"layer{i}"] == "conv" and sizes[i] == 1
        assert arch["fc_layers"] <= 2
    assert pools_of_one  # deep chains do reach one wide, and then only convolve
    assert sum(a["depth"] >= 5 for a in made) > 20  # rejection did not just keep chains short


def test_a_hand_made_invalid_arch_is_refused_naming_the_rule() -> None:
    space, wide = ChainSpace(input_size=8), ChainSpace(input_size=40)
    arch = wide.parse(POOL_AT_ONE)  # one size's violation is not another's
    assert space.map_sizes(arch) == [8, 3, 1, 1] and wide.map_sizes(arch) == [40, 14, 5, 3]
    with pytest.raises(SpaceError, match=r"no pooling once the map is one wide.*layer2 pools"):
        space.parse(POOL_AT_ONE)
    with pytest.raises(SpaceError, match="no pooling once the map is one wide"):
        space.build(arch, Task((1, 8), 3))
    with pytest.raises(SpaceError, match=r"at most 2 fully connected layers.*fc_layers=3"):
        wide.make({**arch, "fc_layers": 3})
    with pytest.raises(ConfigError, match="max_layers=13"):
        ChainSpace(max_layers=13)


@pytest.mark.parametrize("shape", [(1, 16), (2, 8, 8)])
def test_sampled_archs_build_and_train_in_1d_and_2d(shape: tuple[int, ...]) -> None:
    space = ChainSpace(max_layers=4, input_size=shape[-1], channels=4)
    task = Task(shape, 3)
    rng = np.random.default_rng(len(shape))
    for _ in range(4):
        arch = space.sample(rng)
        torch.manual_seed(0)
        model = space.build(arch, task)
        out = model(torch.randn(2, *shape))
        assert out.shape == (2, 3)
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters()), arch.key
        # the real maps have the sizes the rules are checked on
        sizes = [o.shape[-1] for o in layer_outputs(model, torch.randn(1, *shape))]
        assert sizes == space.map_sizes(arch)[1:], arch.key


def test_another_input_size_builds_as_documented() -> None:
    space = ChainSpace(input_size=40, channels=2)
    arch = space.parse(POOL_AT_ONE)  # valid at 40; pools a one-wide map at 4
    model = space.build(arch, Task((1, 4), 2))
    assert model(torch.randn(2, 1, 4)).shape == (2, 2)


def test_skip_connections_concatenate_padded_and_really_connect() -> None:
    space = ChainSpace(max_layers=3, input_size=8, channels=2)
    task = Task((1, 8), 2)
    on, off = space.parse(SKIP.format(skip=True)), space.parse(SKIP.format(skip=False))
    assert space.map_sizes(on) == [8, 8, 4, 8] and space.map_sizes(off) == [8, 8, 4, 4]
    x = torch.randn(3, 1, 8)
    for arch, connected in ((on, True), (off, False)):
        torch.manual_seed(0)
        model = space.build(arch, task).eval()
        assert model.layers[2][0].in_channels == (4 if connected else 2)
        with torch.no_grad():  # layer 1 outputs zeros: only a skip carries layer 0 on
            model.layers[1][0].weight.zero_()
            model.layers[1][1].bias.zero_()
            changed = not torch.allclose(model(x), model(x + 1.0))
        assert changed == connected
    a, b = torch.ones(1, 2, 3, 5), torch.ones(1, 1, 2, 4)
    both = concat_padded([a, b])
    assert both.shape == (1, 3, 3, 5) and both[0, 2, 2].sum() == 0 and both[0, 2, :2, :4].all()
