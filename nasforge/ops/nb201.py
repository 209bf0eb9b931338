"""The NAS-Bench-201 operations (Dong & Yang 2020) in 1-D and 2-D.

Each factory has the signature ``(c_in, c_out, stride, ndim, *, affine=True)`` of
:func:`nasforge.ops.create_op`; ``affine`` reaches every batch norm of the operation.
Every operation maps a spatial size ``n`` to ``ceil(n / stride)``, so the outputs of the edges
into one node always add up, for odd sizes too.
"""

from __future__ import annotations

import torch
from torch import nn


def conv(ndim: int, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> nn.Module:
    """A bias-free convolution in ``ndim`` spatial dimensions."""
    cls = nn.Conv1d if ndim == 1 else nn.Conv2d
    return cls(c_in, c_out, kernel, stride=stride, padding=padding, bias=False)


def batch_norm(ndim: int, channels: int, affine: bool = True) -> nn.Module:
    """Batch normalisation over ``channels`` for ``ndim`` spatial dimensions (``affine``: with
    a learnable scale and shift)."""
    cls = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
    return cls(channels, affine=affine)


def avg_pool(
    ndim: int, kernel: int, stride: int, padding: int, ceil_mode: bool = False
) -> nn.Module:
    """Average pooling that ignores padding when averaging."""
    cls = nn.AvgPool1d if ndim == 1 else nn.AvgPool2d
    return cls(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=False)


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution, batch norm: NAS-Bench-201's ``nor_conv`` operations.

    Example:
        >>> ReLUConvBN(4, 8, kernel=3, stride=2, ndim=1)(torch.zeros(2, 4, 9)).shape
        torch.Size([2, 8, 5])
    """

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, ndim: int, affine: bool = True
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            conv(ndim, c_in, c_out, kernel, stride, padding=kernel // 2),
            batch_norm(ndim, c_out, affine),
        )


class Zero(nn.Module):
    """The ``none`` operation: zeros of the output shape (cells skip it when summing)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ceil(n / stride) with positive operands only: ONNX's integer division truncates, so a
        # traced -(-n // stride) would export as floor
        spatial = [(n + self.stride - 1) // self.stride for n in x.shape[2:]]
        return x.new_zeros(x.shape[0], self.c_out, *spatial)

    def extra_repr(self) -> str:
        return f"c_in={self.c_in}, c_out={self.c_out}, stride={self.stride}"


class FactorizedReduce(nn.Module):
    """Change channels (stride 1: a 1x1 conv) or halve the size without losing pixels.

    With stride 2, two 1x1 convolutions of stride 2 read the even and the odd positions and their
    outputs are concatenated, as in NAS-Bench-201 and DARTS.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, ndim: int, affine: bool = True) -> None:
        super().__init__()
        self.stride, self.ndim = stride, ndim
        if stride == 2:
            half = c_out // 2
            self.relu = nn.ReLU(inplace=False)
            self.convs = nn.ModuleList(
                [conv(ndim, c_in, half, 1, 2, 0), conv(ndim, c_in, c_out - half, 1, 2, 0)]
            )
        else:
            self.convs = nn.ModuleList([conv(ndim, c_in, c_out, 1, 1, 0)])
        self.bn = batch_norm(ndim, c_out, affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return self.bn(self.convs[0](x))
        x = self.relu(x)
        # pad one zero at the end of each spatial axis, then drop the first: the odd positions
        padded = nn.functional.pad(x, (0, 1) * self.ndim)
        shifted = padded[:, :, 1:] if self.ndim == 1 else padded[:, :, 1:, 1:]
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


class Pooling(nn.Module):
    """3x3 average pooling, after a 1x1 ReLU-Conv-BN when the channel count changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, ndim: int, affine: bool = True) -> None:
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, ndim, affine)
        self.pool = avg_pool(ndim, 3, stride, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)


def zero(c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True) -> nn.Module:
    """``none``: the edge contributes zero."""
    return Zero(c_in, c_out, stride)


def skip_connect(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``skip_connect``: identity, or a factorized reduce when the shape changes."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return FactorizedReduce(c_in, c_out, stride, ndim, affine)


def nor_conv_1x1(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``nor_conv_1x1``: ReLU, 1x1 convolution, batch norm."""
    return ReLUConvBN(c_in, c_out, 1, stride, ndim, affine)


def nor_conv_3x3(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``nor_conv_3x3``: ReLU, 3x3 convolution, batch norm."""
    return ReLUConvBN(c_in, c_out, 3, stride, ndim, affine)


def avg_pool_3x3(
    c_in: int, c_out: int, stride: int, ndim: int, *, affine: bool = True
) -> nn.Module:
    """``avg_pool_3x3``: 3x3 average pooling (channels matched by a 1x1 conv first)."""
    return Pooling(c_in, c_out, stride, ndim, affine)
