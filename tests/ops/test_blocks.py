from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops import DepthwiseSeparableConv, FireModule, InvertedResidual, SqueezeExcite

# odd sizes: every block maps n to ceil(n / stride)
INPUTS = {1: (3, 8, 15), 2: (3, 8, 7, 10)}

BLOCKS: dict[str, Callable[[int, int], nn.Module]] = {
    "separable": lambda stride, ndim: DepthwiseSeparableConv(8, 12, 5, stride=stride, ndim=ndim),
    "separable_dilated": lambda stride, ndim: DepthwiseSeparableConv(
        8, 8, 3, stride=stride, dilation=2, ndim=ndim, norm="layer", act="elu"
    ),
    "inverted": lambda stride, ndim: InvertedResidual(8, 12, 3, stride=stride, ndim=ndim),
    "inverted_se": lambda stride, ndim: InvertedResidual(
        8, 8, 5, stride=stride, expansion=3, se_ratio=0.25, ndim=ndim, act="relu6"
    ),
    "inverted_e1": lambda stride, ndim: InvertedResidual(
        8, 8, 3, stride=stride, expansion=1, ndim=ndim
    ),
}


def _expected(ndim: int, c_out: int, stride: int) -> tuple[int, ...]:
    shape = INPUTS[ndim]
    return (shape[0], c_out, *(-(-n // stride) for n in shape[2:]))


@pytest.mark.parametrize("name", BLOCKS)
@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_block_shapes_gradients_and_export(
    name: str, ndim: int, stride: int, check_export: Callable[..., None]
) -> None:
    block = BLOCKS[name](stride, ndim)
    x = torch.randn(*INPUTS[ndim], requires_grad=True)
    out = block(x)
    c_out = 12 if name in ("separable", "inverted") else 8
    assert out.shape == _expected(ndim, c_out, stride)
    out.square().mean().backward()
    for param in block.parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all()
    check_export(block, x.detach())


@pytest.mark.parametrize("ndim", [1, 2])
def test_fire_module(ndim: int, check_export: Callable[..., None]) -> None:
    fire = FireModule(8, squeeze=2, expand1x1=4, expand3x3=6, ndim=ndim)
    x = torch.randn(*INPUTS[ndim])
    assert fire(x).shape == _expected(ndim, 10, 1)
    # squeeze: 8 -> 2 (+bias); expands 2 -> 4 (1x1) and 2 -> 6 (3x3), with biases
    taps = 3**ndim
    assert sum(p.numel() for p in fire.parameters()) == (16 + 2) + (8 + 4) + (12 * taps + 6)
    check_export(fire, x)


def test_inverted_residual_adds_its_input_only_when_shapes_match() -> None:
    assert InvertedResidual(8, 8, stride=1, ndim=1).residual
    assert not InvertedResidual(8, 8, stride=2, ndim=1).residual
    assert not InvertedResidual(8, 12, stride=1, ndim=1).residual
    block = InvertedResidual(8, 8, stride=1, ndim=1).eval()
    with torch.no_grad():
        block.body[-1][1].weight.zero_()  # the projection's BN scale: the body gives 0
        x = torch.randn(2, 8, 9)
        assert torch.equal(block(x), x)
    with pytest.raises(ConfigError, match="expansion=0"):
        InvertedResidual(8, 8, expansion=0)


def test_inverted_residual_layers_follow_mobilenet_v2() -> None:
    block = InvertedResidual(8, 16, 5, stride=2, expansion=6, se_ratio=0.25, ndim=2)
    expand, depthwise, se, project = block.body
    assert expand[0].out_channels == 48 and expand[0].kernel_size == (1, 1)
    assert depthwise[0].groups == 48 and depthwise[0].stride == (2, 2)
    assert depthwise[0].kernel_size == (5, 5)
    assert isinstance(se, SqueezeExcite) and se.reduce.out_channels == 12
    assert project[0].out_channels == 16 and isinstance(project[2], nn.Identity)  # linear


@pytest.mark.parametrize("ndim", [1, 2])
def test_squeeze_excite_gates_each_channel(ndim: int) -> None:
    se = SqueezeExcite(8, ratio=1 / 16, ndim=ndim)
    assert se.reduce.out_channels == 1  # at least one hidden unit
    x = torch.rand(2, 8, *([5] * ndim)) + 0.1
    out = se(x)
    ratio = out / x  # one gate in (0, 1) per sample and channel, the same at every position
    assert ((ratio > 0) & (ratio < 1)).all()
    flat = ratio.flatten(2)
    torch.testing.assert_close(flat, flat[..., :1].expand_as(flat))
    with pytest.raises(ConfigError, match="ratio=0"):
        SqueezeExcite(8, ratio=0)
