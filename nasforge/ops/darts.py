"""The eight DARTS operations (Liu, Simonyan & Yang 2019) in 1-D and 2-D.

DARTS draws each edge of its cells from ``none``, ``max_pool_3x3``, ``avg_pool_3x3``,
``skip_connect``, ``sep_conv_3x3``, ``sep_conv_5x5``, ``dil_conv_3x3`` and ``dil_conv_5x5``
(:data:`nasforge.ops.DARTS_OPS`, in the order of DARTS's ``PRIMITIVES``).

**Naming.** All operations share one flat namespace and DARTS's names are used as they are.
Three of them are also NAS-Bench-201 names, and there the existing operation *is* DARTS's:

- ``none``: zeros of the output shape, in both papers;
- ``skip_connect``: identity at stride 1, a factorized reduce (ReLU, two 1x1 convolutions of
  stride 2 on even and odd positions, concatenated, BN) at stride 2, in both papers;
- ``avg_pool_3x3``: 3x3 average pooling with padding 1 that does not count the padding, in
  both papers.

The two papers differ only where DARTS never goes: a channel change at stride 1 (NB201 adds a
1x1 ReLU-Conv-BN in front of the pooling, or uses a 1x1 factorized reduce for the skip). So no
``darts:`` prefix is needed, and an arch string of either paper names the operation it means.
``max_pool_3x3`` follows ``avg_pool_3x3`` there too: a 1x1 ReLU-Conv-BN first when the channel
count changes.

**Pooling and batch norm.** DARTS's operations (and the network derived from a genotype) have
no batch norm after pooling; its *search* network appends a non-affine batch norm to each
pooling candidate, so that the pooling output's scale matches the other candidates' while the
architecture weights are learned. That belongs to the supernet, not the operation:
:func:`create_supernet_op` builds a candidate as DARTS's search network holds it.

Every operation maps a spatial size ``n`` to ``ceil(n / stride)``.
"""

from __future__ import annotations

import torch
from torch import nn

from nasforge.ops.nb201 import ReLUConvBN, batch_norm, conv

#: the pooling operations, which DARTS's search network follows with a non-affine batch norm
POOLING_OPS: frozenset[str] = frozenset({"max_pool_3x3", "avg_pool_3x3"})


def _depthwise_pointwise(
    ndim: int, c_in: int, c_out: int, kernel: int, stride: int, dilation: int, affine: bool
) -> list[nn.Module]:
    """ReLU, depthwise ``kernel`` convolution, pointwise 1x1 convolution, batch norm."""
    cls = nn.Conv1d if ndim == 1 else nn.Conv2d
    padding = dilation * (kernel - 1) // 2
    return [
        nn.ReLU(inplace=False),
        cls(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
        conv(ndim, c_in, c_out, 1, 1, 0),
        batch_norm(ndim, c_out, affine),
    ]


class SepConv(nn.Sequential):
    """DARTS's separable convolution: ReLU, depthwise ``kernel``, pointwise 1x1, BN, twice.

    The first depthwise convolution has the stride and the pointwise one keeps ``c_in``
    channels; the second pair maps to ``c_out``.

    Example:
        >>> import torch
        >>> SepConv(4, 8, kernel=5, stride=2, ndim=1)(torch.zeros(2, 4, 9)).shape
        torch.Size([2, 8, 5])
    """

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, ndim: int, affine: bool = True
    ) -> None:
        super().__init__(
            *_depthwise_pointwise(ndim, c_in, c_in, kernel, stride, 1, affine),
            *_depthwise_pointwise(ndim, c_in, c_out, kernel, 1, 1, affine),
        )


class DilConv(nn.Sequential):
    """DARTS's dilated convolution: ReLU, depthwise ``kernel`` of dilation 2, pointwise 1x1, BN.

    Example:
        >>> import torch
        >>> DilConv(4, 4, kernel=3, stride=1, ndim=2)(torch.zeros(2, 4, 7, 7)).shape
        torch.Size([2, 4, 7, 7])
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        ndim: int,
        affine: bool = True,
        dilation: int = 2,
    ) -> None:
        super().__init__(*_depthwise_pointwise(ndim, c_in, c_out, kernel, stride, dilation, affine))


class MaxPooling(nn.Module):
    """3x3 max pooling with padding 1, after a 1x1 ReLU-Conv-BN when the channel count changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, ndim: int, affine: bool = True) -> None:
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, ndim, affine)
        cls = nn.MaxPool1d if ndim == 1 else nn.MaxPool2d
        self.pool = cls(3, stride=stride, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)


def max_pool_3x3(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``max_pool_3x3``: 3x3 max pooling (channels matched by a 1x1 conv first)."""
    return MaxPooling(c_in, c_out, stride, ndim, affine)


def sep_conv_3x3(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``sep_conv_3x3``: (ReLU, depthwise 3x3, pointwise 1x1, BN) twice."""
    return SepConv(c_in, c_out, 3, stride, ndim, affine)


def sep_conv_5x5(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``sep_conv_5x5``: (ReLU, depthwise 5x5, pointwise 1x1, BN) twice."""
    return SepConv(c_in, c_out, 5, stride, ndim, affine)


def dil_conv_3x3(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``dil_conv_3x3``: ReLU, depthwise 3x3 of dilation 2, pointwise 1x1, BN."""
    return DilConv(c_in, c_out, 3, stride, ndim, affine)


def dil_conv_5x5(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``dil_conv_5x5``: ReLU, depthwise 5x5 of dilation 2, pointwise 1x1, BN."""
    return DilConv(c_in, c_out, 5, stride, ndim, affine)


def create_supernet_op(name: str, c_in: int, c_out: int, stride: int, ndim: int) -> nn.Module:
    """Operation ``name`` as a candidate of DARTS's search network (a mixed edge).

    Its batch norms learn no scale and shift (``affine=False``), and a pooling operation
    (:data:`POOLING_OPS`) is followed by a non-affine batch norm over ``c_out``, as in DARTS's
    search network. The network derived from the found genotype uses :func:`create_op` with
    ``affine=True`` and no such batch norm.

    Example:
        >>> op = create_supernet_op("max_pool_3x3", 4, 4, stride=1, ndim=1)
        >>> [type(m).__name__ for m in op]
        ['MaxPooling', 'BatchNorm1d']
    """
    from nasforge.ops import create_op

    op = create_op(name, c_in, c_out, stride, ndim, affine=False)
    if name in POOLING_OPS:
        return nn.Sequential(op, batch_norm(ndim, c_out, affine=False))
    return op
