"""Layers by name: convolutions, activations, normalisations, dropout, LeCun initialisation.

The small factories here take what a layer needs (kernel, dilation, groups, a name) rather than
the uniform ``(c_in, c_out, stride, ndim)`` of :func:`nasforge.ops.create_op`; search spaces
compose them into blocks (:mod:`nasforge.ops.blocks`). Everything works in 1-D (``ndim=1``,
signals) and 2-D (``ndim=2``, images), and a convolution of odd kernel maps a spatial size
``n`` to ``ceil(n / stride)``.

**Layer normalisation of a feature map.** ``create_norm("layer", c, ndim)`` is
``GroupNorm(1, c)``: each sample is normalised over its channels and positions together, with a
learnable scale and shift per channel (the form Wu & He 2018 give for layer norm of a
convolutional map). It is not ConvNeXt's per-position norm over channels only.

Example:
    >>> import torch
    >>> block = ConvNormAct(4, 8, kernel=3, stride=2, dilation=2, ndim=1, act="gelu")
    >>> block(torch.zeros(2, 4, 9)).shape
    torch.Size([2, 8, 5])
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from nasforge.errors import ConfigError, UnknownNameError

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=False),
    "relu6": lambda: nn.ReLU6(inplace=False),
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": lambda: nn.ELU(),
    "selu": lambda: nn.SELU(),
    "gelu": lambda: nn.GELU(),
    "silu": lambda: nn.SiLU(),
    "hardswish": lambda: nn.Hardswish(),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
    "none": lambda: nn.Identity(),
}

#: the activation names :func:`create_activation` knows
ACTIVATIONS: tuple[str, ...] = tuple(_ACTIVATIONS)

#: the normalisation names :func:`create_norm` knows
NORMS: tuple[str, ...] = ("batch", "layer", "none")


def _check_ndim(ndim: int) -> None:
    if ndim not in (1, 2) or isinstance(ndim, bool):
        raise ConfigError(f"ndim={ndim!r}; allowed: 1 (signals) or 2 (images)")


def _check_positive(**values: int) -> None:
    for field, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{field}={value!r}; allowed: an integer >= 1")


def create_activation(name: str) -> nn.Module:
    """A fresh activation module by name (:data:`ACTIVATIONS`; ``"none"`` is the identity).

    Example:
        >>> create_activation("selu")
        SELU()

    Raises:
        UnknownNameError: ``name`` is not one of :data:`ACTIVATIONS`.
    """
    try:
        return _ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise UnknownNameError("activation", name, ACTIVATIONS) from None


def create_norm(name: str, channels: int, ndim: int, affine: bool = True) -> nn.Module:
    """A normalisation of ``channels``-channel maps in ``ndim`` spatial dimensions.

    ``"batch"`` is batch norm; ``"layer"`` is ``GroupNorm(1, channels)`` (per sample, over
    channels and positions together; see the module docstring); ``"none"`` is the identity.
    ``affine`` says whether it learns a per-channel scale and shift.

    Raises:
        UnknownNameError: ``name`` is not one of :data:`NORMS`.
        ConfigError: ``channels`` or ``ndim`` is out of range.
    """
    if name not in NORMS:
        raise UnknownNameError("normalisation", name, NORMS)
    _check_positive(channels=channels)
    _check_ndim(ndim)
    if name == "batch":
        return (nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d)(channels, affine=affine)
    if name == "layer":
        return nn.GroupNorm(1, channels, affine=affine)
    return nn.Identity()


def create_dropout(p: float, after: str = "relu") -> nn.Module:
    """Dropout of rate ``p`` suited to the activation before it.

    After ``"selu"`` it is :class:`torch.nn.AlphaDropout`, which keeps SELU's zero mean and
    unit variance (Klambauer et al. 2017); after anything else plain dropout. ``p == 0`` gives
    the identity.

    Example:
        >>> create_dropout(0.1, after="selu")
        AlphaDropout(p=0.1, inplace=False)
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ConfigError(f"dropout p={p!r}; allowed: a number in [0, 1)")
    if p == 0:
        return nn.Identity()
    return nn.AlphaDropout(p) if after == "selu" else nn.Dropout(p)


def init_lecun_normal(module: nn.Module) -> nn.Module:
    """Initialise every convolution and linear layer in ``module`` for SELU networks.

    Weights are drawn from a normal of mean 0 and standard deviation ``1 / sqrt(fan_in)``
    (LeCun normal, which SELU's self-normalisation assumes) and biases set to zero. Draws from
    torch's global generator: seed it (``torch.manual_seed``) for a reproducible network.
    Returns ``module``.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            fan_in = layer.weight[0].numel()  # input channels (per group) x kernel size
            nn.init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(fan_in))
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def create_conv(
    c_in: int,
    c_out: int,
    kernel: int,
    *,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    ndim: int = 2,
    bias: bool = False,
) -> nn.Conv1d | nn.Conv2d:
    """A convolution padded so that an odd ``kernel`` maps ``n`` to ``ceil(n / stride)``.

    ``groups`` > 1 is a grouped convolution (ResNeXt, ShuffleNet); ``groups == c_in == c_out``
    a depthwise one. The padding is ``dilation * (kernel - 1) // 2``.

    Raises:
        ConfigError: a size is not a positive integer, or ``groups`` does not divide both
            ``c_in`` and ``c_out``.
    """
    _check_positive(
        c_in=c_in, c_out=c_out, kernel=kernel, stride=stride, dilation=dilation, groups=groups
    )
    _check_ndim(ndim)
    if c_in % groups or c_out % groups:
        raise ConfigError(
            f"groups={groups}; allowed: a divisor of both c_in={c_in} and c_out={c_out}"
        )
    cls = nn.Conv1d if ndim == 1 else nn.Conv2d
    padding = dilation * (kernel - 1) // 2
    return cls(c_in, c_out, kernel, stride, padding, dilation=dilation, groups=groups, bias=bias)


class ConvNormAct(nn.Sequential):
    """Convolution, normalisation, activation: the unit most blocks are made of.

    Args:
        c_in: input channels.
        c_out: output channels.
        kernel: kernel size (odd keeps ``ceil(n / stride)``).
        stride: 1 keeps the spatial size, 2 halves it.
        dilation: spacing of the kernel taps.
        groups: ``groups`` > 1 for a grouped convolution, ``c_in`` for a depthwise one.
        ndim: 1 for signals, 2 for images.
        norm: one of :data:`NORMS`.
        act: one of :data:`ACTIVATIONS` (``"none"`` for a linear unit).
        affine: whether the normalisation learns a scale and shift.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 3,
        *,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        ndim: int = 2,
        norm: str = "batch",
        act: str = "relu",
        affine: bool = True,
    ) -> None:
        conv = create_conv(
            c_in,
            c_out,
            kernel,
            stride=stride,
            dilation=dilation,
            groups=groups,
            ndim=ndim,
            bias=norm == "none",  # a norm's shift makes a bias redundant
        )
        super().__init__(conv, create_norm(norm, c_out, ndim, affine), create_activation(act))


__all__ = [
    "ACTIVATIONS",
    "NORMS",
    "ConvNormAct",
    "create_activation",
    "create_conv",
    "create_dropout",
    "create_norm",
    "init_lecun_normal",
]
