from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError, UnknownNameError
from nasforge.ops import (
    ACTIVATIONS,
    NORMS,
    BinaryConv,
    ConvNormAct,
    binarize,
    create_activation,
    create_conv,
    create_dropout,
    create_norm,
    init_lecun_normal,
)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_is_a_fresh_module(name: str) -> None:
    first, second = create_activation(name), create_activation(name)
    assert isinstance(first, nn.Module) and first is not second
    x = torch.randn(2, 3, 5)
    assert first(x).shape == x.shape


def test_activations_compute_what_their_names_say() -> None:
    x = torch.linspace(-3, 3, 13)
    assert torch.equal(create_activation("relu")(x), x.clamp(min=0))
    assert torch.equal(create_activation("none")(x), x)
    assert torch.allclose(create_activation("selu")(x), torch.selu(x))
    assert {"relu", "elu", "gelu", "selu", "leaky_relu", "tanh", "sigmoid"} <= set(ACTIVATIONS)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="gelu"):
        create_activation("swish2")
    with pytest.raises(UnknownNameError, match="layer"):
        create_norm("instance", 4, 2)


@pytest.mark.parametrize("ndim", [1, 2])
def test_norms(ndim: int) -> None:
    x = torch.randn(3, 4, *([6] * ndim)) * 5 + 2
    assert isinstance(create_norm("batch", 4, ndim), nn.BatchNorm1d | nn.BatchNorm2d)
    assert isinstance(create_norm("none", 4, ndim), nn.Identity)
    layer = create_norm("layer", 4, ndim)
    assert isinstance(layer, nn.GroupNorm) and layer.num_groups == 1
    # layer norm: each sample standardised over channels and positions together
    out = layer(x).flatten(1)
    torch.testing.assert_close(out.mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(1, unbiased=False), torch.ones(3), atol=1e-3, rtol=0)
    assert not list(create_norm("layer", 4, ndim, affine=False).parameters())
    assert NORMS == ("batch", "layer", "none")


def test_dropout_follows_the_activation() -> None:
    assert isinstance(create_dropout(0.2, after="selu"), nn.AlphaDropout)
    assert type(create_dropout(0.2)) is nn.Dropout
    assert isinstance(create_dropout(0.0, after="selu"), nn.Identity)
    with pytest.raises(ConfigError, match=r"p=1\.5"):
        create_dropout(1.5)


@pytest.mark.parametrize("ndim", [1, 2])
def test_conv_padding_groups_and_dilation(ndim: int) -> None:
    x = torch.randn(2, 8, *([9] * ndim))
    for dilation in (1, 2, 3):
        conv = create_conv(8, 12, 3, stride=2, dilation=dilation, groups=4, ndim=ndim)
        assert conv(x).shape == (2, 12, *([5] * ndim))
        assert conv.weight.shape == (12, 2, *([3] * ndim))  # 8 / 4 inputs per group
    with pytest.raises(ConfigError, match="groups=3; allowed: a divisor of both c_in=8"):
        create_conv(8, 12, 3, groups=3, ndim=ndim)
    with pytest.raises(ConfigError, match="kernel=0"):
        create_conv(8, 12, 0, ndim=ndim)
    with pytest.raises(ConfigError, match="ndim=3"):
        create_conv(8, 12, 3, ndim=3)


def test_conv_norm_act_drops_the_bias_before_a_norm() -> None:
    with_norm = ConvNormAct(4, 8, 3, ndim=1)
    without = ConvNormAct(4, 8, 3, ndim=1, norm="none", act="none")
    assert with_norm[0].bias is None and without[0].bias is not None
    assert isinstance(without[1], nn.Identity) and isinstance(without[2], nn.Identity)


def test_selu_with_lecun_init_keeps_activations_standardised() -> None:
    # self-normalisation (Klambauer et al. 2017): through 8 SELU layers of LeCun-normal
    # weights, standardised inputs stay near mean 0 and standard deviation 1
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(8):
        layers += [nn.Linear(256, 256), create_activation("selu")]
    net = init_lecun_normal(nn.Sequential(*layers))
    with torch.no_grad():
        out = net(torch.randn(512, 256))
    assert abs(out.mean().item()) < 0.15
    assert 0.8 < out.std().item() < 1.2
    conv = init_lecun_normal(create_conv(4, 6, 3, ndim=2, bias=True))
    assert conv.bias is not None and not conv.bias.any()
    assert 0.1 < conv.weight.std().item() < 0.25  # 1 / sqrt(4 * 9) = 0.167


def test_binarize_is_sign_forward_and_straight_through_backward() -> None:
    x = torch.tensor([-3.0, -1.0, -0.3, 0.0, 0.4, 1.0, 2.5], requires_grad=True)
    y = binarize(x)
    assert y.tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    (y * torch.arange(1.0, 8.0)).sum().backward()
    assert x.grad is not None
    # the upstream gradient passes where |x| <= 1 and is cancelled elsewhere
    assert x.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


@pytest.mark.parametrize("ndim", [1, 2])
def test_binary_conv_uses_only_plus_and_minus_one(ndim: int) -> None:
    torch.manual_seed(0)
    conv = BinaryConv(3, 5, 3, stride=2, ndim=ndim)
    x = torch.randn(2, 3, *([7] * ndim), requires_grad=True)
    out = conv(x)
    assert out.shape == (2, 5, *([4] * ndim))
    # the same as an ordinary convolution of the signs, padding zeros aside
    reference = create_conv(3, 5, 3, stride=2, ndim=ndim)
    with torch.no_grad():
        reference.weight.copy_(conv.conv.weight.sign())
        torch.testing.assert_close(out, reference(x.sign()))
    assert torch.equal(out, out.round())  # sums of +-1 products
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert conv.conv.weight.grad is not None and conv.conv.weight.grad.abs().sum() > 0
    with torch.no_grad():
        conv.conv.weight.mul_(3)
    conv.clip_weights_()
    assert conv.conv.weight.abs().max() <= 1.0


@pytest.mark.parametrize("ndim", [1, 2])
def test_layers_export(ndim: int, check_export: Callable[..., None]) -> None:
    x = torch.randn(2, 4, *([7] * ndim))
    check_export(BinaryConv(4, 6, 3, stride=2, ndim=ndim), x)
    check_export(ConvNormAct(4, 8, 3, dilation=2, groups=2, ndim=ndim, norm="layer"), x)
    for name in ("elu", "gelu", "selu", "leaky_relu", "hardswish"):
        check_export(nn.Sequential(create_conv(4, 4, 1, ndim=ndim), create_activation(name)), x)
