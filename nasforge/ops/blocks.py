"""Blocks of the mobile and multi-branch spaces, in 1-D and 2-D.

- :class:`DepthwiseSeparableConv`: MobileNet's depthwise ``k`` then pointwise 1x1 unit
  (Howard et al. 2017), each followed by a norm and an activation.
- :class:`SqueezeExcite`: channel reweighting from a global average (Hu et al. 2018).
- :class:`InvertedResidual`: MobileNetV2 / MnasNet's block (Sandler et al. 2018, Tan et al.
  2019): expand 1x1, depthwise ``k`` with the stride, optional squeeze-and-excitation, linear
  project 1x1, and a residual when the shapes match.
- :class:`FireModule`: SqueezeNet's squeeze 1x1 then parallel 1x1 and 3x3 expands,
  concatenated (Iandola et al. 2016).

Grouped convolution is :class:`~nasforge.ops.layers.ConvNormAct` with ``groups > 1``. Every
block of odd kernel maps a spatial size ``n`` to ``ceil(n / stride)``.

Example:
    >>> import torch
    >>> block = InvertedResidual(8, 8, kernel=5, expansion=6, se_ratio=0.25, ndim=1)
    >>> block(torch.zeros(2, 8, 12)).shape
    torch.Size([2, 8, 12])
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops.layers import ConvNormAct, create_activation, create_conv


class DepthwiseSeparableConv(nn.Sequential):
    """Depthwise ``kernel`` convolution with the stride, then pointwise 1x1 to ``c_out``.

    Each convolution is followed by ``norm`` and ``act``, as in MobileNet (v1).

    Example:
        >>> DepthwiseSeparableConv(4, 8, kernel=3, stride=2, ndim=2)(
        ...     torch.zeros(1, 4, 7, 7)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 3,
        *,
        stride: int = 1,
        dilation: int = 1,
        ndim: int = 2,
        norm: str = "batch",
        act: str = "relu",
        affine: bool = True,
    ) -> None:
        unit = partial(ConvNormAct, ndim=ndim, norm=norm, act=act, affine=affine)
        super().__init__(
            unit(c_in, c_in, kernel, stride=stride, dilation=dilation, groups=c_in),
            unit(c_in, c_out, 1),
        )


class SqueezeExcite(nn.Module):
    """Scale each channel by a gate computed from the global average of all channels.

    Args:
        channels: channels in and out.
        ratio: hidden width as a fraction of ``channels`` (at least one unit); 0.25 is
            MnasNet's and EfficientNet's, 1/16 the original paper's reduction of 16.
        ndim: 1 for signals, 2 for images.
        act: activation of the hidden layer (:data:`~nasforge.ops.layers.ACTIVATIONS`).

    Example:
        >>> se = SqueezeExcite(8, ratio=0.25, ndim=1)
        >>> se.reduce.out_channels
        2
    """

    def __init__(
        self, channels: int, ratio: float = 0.25, *, ndim: int = 2, act: str = "relu"
    ) -> None:
        super().__init__()
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
            raise ConfigError(f"squeeze-excite ratio={ratio!r}; allowed: a number in (0, 1]")
        hidden = max(1, int(channels * ratio))
        self.pool = nn.AdaptiveAvgPool1d(1) if ndim == 1 else nn.AdaptiveAvgPool2d(1)
        self.reduce = create_conv(channels, hidden, 1, ndim=ndim, bias=True)
        self.act = create_activation(act)
        self.expand = create_conv(hidden, channels, 1, ndim=ndim, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class InvertedResidual(nn.Module):
    """MobileNetV2 / MnasNet block: expand, depthwise, (squeeze-excite), project, residual.

    Args:
        c_in: input channels.
        c_out: output channels.
        kernel: depthwise kernel size (3, 5 or 7 in MnasNet's space).
        stride: stride of the depthwise convolution.
        expansion: hidden width as a multiple of ``c_in`` (1: no expansion convolution).
        se_ratio: squeeze-and-excitation ratio on the hidden width; 0 for none.
        ndim: 1 for signals, 2 for images.
        norm: one of :data:`~nasforge.ops.layers.NORMS`.
        act: activation after the expansion and the depthwise convolution (MobileNetV2 uses
            ``"relu6"``); the projection is linear.
        affine: whether the normalisations learn a scale and shift.

    The input is added to the output when ``stride == 1`` and ``c_in == c_out``.

    Example:
        >>> InvertedResidual(8, 16, kernel=3, stride=2, ndim=2)(torch.zeros(1, 8, 9, 9)).shape
        torch.Size([1, 16, 5, 5])
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 3,
        *,
        stride: int = 1,
        expansion: int = 6,
        se_ratio: float = 0.0,
        ndim: int = 2,
        norm: str = "batch",
        act: str = "relu",
        affine: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(expansion, bool) or not isinstance(expansion, int) or expansion < 1:
            raise ConfigError(f"expansion={expansion!r}; allowed: an integer >= 1")
        hidden = c_in * expansion
        unit = partial(ConvNormAct, ndim=ndim, norm=norm, affine=affine)
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(unit(c_in, hidden, 1, act=act))
        layers.append(unit(hidden, hidden, kernel, stride=stride, groups=hidden, act=act))
        if se_ratio:
            layers.append(SqueezeExcite(hidden, se_ratio, ndim=ndim, act=act))
        layers.append(unit(hidden, c_out, 1, act="none"))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return x + out if self.residual else out


class FireModule(nn.Module):
    """SqueezeNet's fire module: squeeze 1x1, then 1x1 and 3x3 expands concatenated.

    The output has ``expand1x1 + expand3x3`` channels and the input's spatial size. Each
    convolution is followed by ``norm`` (none in SqueezeNet) and ``act``.

    Example:
        >>> fire = FireModule(16, squeeze=4, expand1x1=8, expand3x3=8, ndim=1)
        >>> fire(torch.zeros(2, 16, 10)).shape
        torch.Size([2, 16, 10])
    """

    def __init__(
        self,
        c_in: int,
        squeeze: int,
        expand1x1: int,
        expand3x3: int,
        *,
        ndim: int = 2,
        norm: str = "none",
        act: str = "relu",
    ) -> None:
        super().__init__()
        unit = partial(ConvNormAct, ndim=ndim, norm=norm, act=act)
        self.squeeze = unit(c_in, squeeze, 1)
        self.expand1x1 = unit(squeeze, expand1x1, 1)
        self.expand3x3 = unit(squeeze, expand3x3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], dim=1)
