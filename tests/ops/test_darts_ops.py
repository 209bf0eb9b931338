from __future__ import annotations

import pytest
import torch
from torch import nn

from nasforge.ops import DARTS_OPS, OPS, create_op, list_ops
from nasforge.ops.darts import POOLING_OPS, create_supernet_op


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_eight_darts_operations_are_registered() -> None:
    assert len(DARTS_OPS) == len(set(DARTS_OPS)) == 8
    assert set(DARTS_OPS) <= set(list_ops())
    # the names both papers use are one operation, NAS-Bench-201's
    for name in ("none", "skip_connect", "avg_pool_3x3"):
        assert OPS.get(name).__module__ == "nasforge.ops.nb201"


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize(("kernel", "name"), [(3, "sep_conv_3x3"), (5, "sep_conv_5x5")])
def test_sep_conv_is_two_depthwise_pointwise_pairs(ndim: int, kernel: int, name: str) -> None:
    c_in, c_out = 4, 8
    op = create_op(name, c_in, c_out, 2, ndim)
    taps = kernel**ndim
    depthwise = [m for m in op.modules() if isinstance(m, nn.Conv1d | nn.Conv2d) and m.groups > 1]
    assert [m.stride[0] for m in depthwise] == [2, 1]  # only the first has the stride
    assert all(m.dilation[0] == 1 and m.groups == c_in for m in depthwise)
    # dw + pw (c_in -> c_in) + BN(c_in), then dw + pw (c_in -> c_out) + BN(c_out)
    expected = (c_in * taps + c_in * c_in + 2 * c_in) + (c_in * taps + c_in * c_out + 2 * c_out)
    assert _params(op) == expected
    assert sum(isinstance(m, nn.ReLU) for m in op.modules()) == 2


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize(("kernel", "name"), [(3, "dil_conv_3x3"), (5, "dil_conv_5x5")])
def test_dil_conv_is_one_dilated_depthwise_pointwise_pair(
    ndim: int, kernel: int, name: str
) -> None:
    op = create_op(name, 4, 8, 1, ndim)
    (depthwise,) = [
        m for m in op.modules() if isinstance(m, nn.Conv1d | nn.Conv2d) and m.groups > 1
    ]
    assert depthwise.dilation[0] == 2 and depthwise.kernel_size[0] == kernel
    assert _params(op) == 4 * kernel**ndim + 4 * 8 + 2 * 8


def test_dil_conv_reaches_twice_as_far_as_its_kernel() -> None:
    # one impulse: a dilated 3x3 touches positions -2, 0 and +2 only
    op = create_op("dil_conv_3x3", 1, 1, 1, 1).eval()
    x = torch.zeros(1, 1, 11, requires_grad=True)
    op(x + 1.0)[0, 0, 5].backward()
    assert x.grad is not None
    assert torch.nonzero(x.grad[0, 0]).flatten().tolist() == [3, 5, 7]


@pytest.mark.parametrize("ndim", [1, 2])
def test_max_pool_takes_the_maximum_of_its_window(ndim: int) -> None:
    x = torch.randn(2, 4, *([9] * ndim))
    pool = nn.functional.max_pool1d if ndim == 1 else nn.functional.max_pool2d
    got = create_op("max_pool_3x3", 4, 4, 2, ndim)(x)
    assert torch.equal(got, pool(x, 3, 2, 1))
    assert _params(create_op("max_pool_3x3", 4, 4, 2, ndim)) == 0
    assert _params(create_op("max_pool_3x3", 4, 8, 1, ndim)) == 4 * 8 + 2 * 8  # 1x1 conv, BN


@pytest.mark.parametrize("name", DARTS_OPS)
def test_supernet_candidates_are_non_affine_and_pools_get_a_norm(name: str) -> None:
    op = create_supernet_op(name, 4, 4, 2, 2)
    norms = [m for m in op.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert all(not m.affine for m in norms)
    if name in POOLING_OPS:
        assert isinstance(op, nn.Sequential) and isinstance(op[-1], nn.BatchNorm2d)
        assert _params(op) == 0
    out = op(torch.randn(3, 4, 7, 10))
    assert out.shape == (3, 4, 4, 5)
