from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError, UnknownNameError
from nasforge.ops import NB201_OPS, OPS, create_op, list_ops, register_op

# odd sizes on purpose: every op must map n to ceil(n / stride)
INPUTS = {1: (3, 4, 15), 2: (3, 4, 7, 10)}


def _expected(shape: tuple[int, ...], c_out: int, stride: int) -> tuple[int, ...]:
    return (shape[0], c_out, *(-(-n // stride) for n in shape[2:]))


@pytest.mark.parametrize("name", list_ops())
@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("c_out", [4, 8])
def test_output_shape(name: str, ndim: int, stride: int, c_out: int) -> None:
    op = create_op(name, 4, c_out, stride, ndim)
    assert isinstance(op, nn.Module)
    x = torch.randn(*INPUTS[ndim])
    assert tuple(op(x).shape) == _expected(INPUTS[ndim], c_out, stride)


@pytest.mark.parametrize("name", list_ops())
@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_backward_reaches_every_parameter(name: str, ndim: int, stride: int) -> None:
    op = create_op(name, 4, 8, stride, ndim)
    x = torch.randn(*INPUTS[ndim], requires_grad=True)
    out = op(x)
    assert torch.isfinite(out).all()
    if not out.requires_grad:  # ``none``: a constant
        assert not list(op.parameters())
        return
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for param in op.parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all()


@pytest.mark.parametrize("name", list_ops())
@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_trace_and_onnx_match_eager(
    name: str, ndim: int, stride: int, check_export: Callable[..., None]
) -> None:
    # c_in == c_out: the cell case, where DARTS's and NB201's shared ops are one
    check_export(create_op(name, 4, 4, stride, ndim), torch.randn(*INPUTS[ndim]))


def test_builtins_are_the_nb201_set() -> None:
    assert list_ops()[: len(NB201_OPS)] == list(NB201_OPS)


def test_none_is_zero_and_skip_is_identity() -> None:
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(create_op("none", 4, 4, 1, 2)(x), torch.zeros_like(x))
    assert torch.equal(create_op("skip_connect", 4, 4, 1, 2)(x), x)
    assert sum(p.numel() for p in create_op("none", 4, 4, 1, 2).parameters()) == 0
    assert sum(p.numel() for p in create_op("avg_pool_3x3", 4, 4, 1, 2).parameters()) == 0


@pytest.mark.parametrize(("ndim", "kernel_area"), [(1, 3), (2, 9)])
def test_conv_parameter_counts(ndim: int, kernel_area: int) -> None:
    conv3 = create_op("nor_conv_3x3", 8, 8, 1, ndim)
    conv1 = create_op("nor_conv_1x1", 8, 8, 1, ndim)
    assert sum(p.numel() for p in conv3.parameters()) == 8 * 8 * kernel_area + 2 * 8
    assert sum(p.numel() for p in conv1.parameters()) == 8 * 8 + 2 * 8


def test_avg_pool_averages_without_padding() -> None:
    x = torch.ones(1, 1, 5)
    assert torch.allclose(create_op("avg_pool_3x3", 1, 1, 1, 1)(x), x)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stride": 3}, "stride"),
        ({"ndim": 3}, "ndim"),
        ({"c_in": 0}, "c_in"),
        ({"c_out": 2.5}, "c_out"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"c_in": 4, "c_out": 4, "stride": 1, "ndim": 1, **kwargs}
    with pytest.raises(ConfigError, match=field):
        create_op("nor_conv_3x3", **args)  # type: ignore[arg-type]


def test_unknown_op_names_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="nor_conv_3x3"):
        create_op("conv_7x7", 4, 4, 1, 2)


def test_register_op() -> None:
    def relu_skip(c_in: int, c_out: int, stride: int, ndim: int) -> nn.Module:
        return nn.Sequential(create_op("skip_connect", c_in, c_out, stride, ndim), nn.ReLU())

    register_op("relu_skip", relu_skip, "skip then ReLU")
    try:
        assert "relu_skip" in list_ops()
        assert create_op("relu_skip", 4, 4, 2, 1)(torch.randn(2, 4, 9)).shape == (2, 4, 5)
    finally:
        OPS.unregister("relu_skip")
    with pytest.raises(ConfigError, match="operation name"):
        register_op("bad|name", relu_skip)


@pytest.mark.parametrize("name", ["nor_conv_1x1", "nor_conv_3x3", "skip_connect", "avg_pool_3x3"])
def test_affine_reaches_every_batch_norm(name: str) -> None:
    # stride 2 and a channel change: every op has a batch norm then
    plain = create_op(name, 4, 8, 2, 1, affine=False)
    norms = [m for m in plain.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms and all(not m.affine and m.weight is None for m in norms)
    learned = create_op(name, 4, 8, 2, 1)
    assert all(
        m.affine for m in learned.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    )
    assert plain(torch.randn(2, 4, 9)).shape == (2, 8, 5)


def test_a_factory_without_affine_serves_affine_true_only() -> None:
    def plain(c_in: int, c_out: int, stride: int, ndim: int) -> nn.Module:
        return create_op("skip_connect", c_in, c_out, stride, ndim)

    register_op("plain_skip", plain)
    try:
        assert isinstance(create_op("plain_skip", 4, 4, 1, 1), nn.Identity)
        with pytest.raises(ConfigError, match="'plain_skip': affine=False; allowed: True only"):
            create_op("plain_skip", 4, 4, 1, 1, affine=False)
        with pytest.raises(ConfigError, match="affine=1; allowed: True or False"):
            create_op("nor_conv_3x3", 4, 4, 1, 1, affine=1)  # type: ignore[arg-type]
    finally:
        OPS.unregister("plain_skip")
