"""Building blocks of cells, created by name with one uniform signature.

Every operation is made by ``create_op(name, c_in, c_out, stride, ndim, affine=...)`` and maps a
tensor of shape ``(batch, c_in, *spatial)`` to ``(batch, c_out, *spatial / stride)`` (rounded
up), in 1-D (``ndim=1``, signals) or 2-D (``ndim=2``, images). ``affine=False`` gives the batch
norms no learnable scale and shift, as DARTS-style supernets do while the architecture weights
are learned. The built-ins are NAS-Bench-201's five operations (:mod:`nasforge.ops.nb201`)
and the five more that make DARTS's eight (:mod:`nasforge.ops.darts`, which says why the names
they share are one operation each). Building blocks that take more than the uniform signature
(convolutions with dilation and groups, binarised convolution, activations, normalisations,
squeeze-and-excitation, inverted residuals, fire modules) are in :mod:`nasforge.ops.layers` and
:mod:`nasforge.ops.blocks`. This module imports no torch until an operation or block is
created.

Example:
    >>> import torch
    >>> op = create_op("nor_conv_3x3", c_in=8, c_out=16, stride=2, ndim=1)
    >>> op(torch.zeros(4, 8, 40)).shape
    torch.Size([4, 16, 20])
    >>> "skip_connect" in list_ops()
    True
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.registry import Registry

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn

    from nasforge.ops.binary import BinaryConv, binarize
    from nasforge.ops.blocks import (
        DepthwiseSeparableConv,
        FireModule,
        InvertedResidual,
        SqueezeExcite,
    )
    from nasforge.ops.darts import create_supernet_op
    from nasforge.ops.layers import (
        ACTIVATIONS,
        NORMS,
        ConvNormAct,
        create_activation,
        create_conv,
        create_dropout,
        create_norm,
        init_lecun_normal,
    )

# public names of the torch modules, imported when first asked for (PEP 562) so that importing
# nasforge.ops stays free of torch
_LAZY: dict[str, str] = {
    **dict.fromkeys(["BinaryConv", "binarize"], "nasforge.ops.binary"),
    **dict.fromkeys(
        ["DepthwiseSeparableConv", "FireModule", "InvertedResidual", "SqueezeExcite"],
        "nasforge.ops.blocks",
    ),
    "create_supernet_op": "nasforge.ops.darts",
    **dict.fromkeys(
        [
            "ACTIVATIONS",
            "NORMS",
            "ConvNormAct",
            "create_activation",
            "create_conv",
            "create_dropout",
            "create_norm",
            "init_lecun_normal",
        ],
        "nasforge.ops.layers",
    ),
}

#: ``factory(c_in, c_out, stride, ndim, *, affine=True) -> nn.Module`` (``affine`` may be left
#: out by a factory whose operation has no batch norm; it then only serves ``affine=True``)
OpFactory = Callable[..., "nn.Module"]

OPS: Registry[Any] = Registry("operation")
OPS.register("none", "nasforge.ops.nb201:zero", "Zero: the edge contributes nothing.")
OPS.register(
    "skip_connect",
    "nasforge.ops.nb201:skip_connect",
    "Identity; a factorized reduce when the stride or the channel count changes.",
)
OPS.register("nor_conv_1x1", "nasforge.ops.nb201:nor_conv_1x1", "ReLU, 1x1 convolution, BN.")
OPS.register("nor_conv_3x3", "nasforge.ops.nb201:nor_conv_3x3", "ReLU, 3x3 convolution, BN.")
OPS.register(
    "avg_pool_3x3",
    "nasforge.ops.nb201:avg_pool_3x3",
    "3x3 average pooling (after a 1x1 ReLU-Conv-BN when the channel count changes).",
)

OPS.register(
    "max_pool_3x3",
    "nasforge.ops.darts:max_pool_3x3",
    "3x3 max pooling (after a 1x1 ReLU-Conv-BN when the channel count changes).",
)
OPS.register(
    "sep_conv_3x3",
    "nasforge.ops.darts:sep_conv_3x3",
    "DARTS separable conv: (ReLU, depthwise 3x3, pointwise 1x1, BN) twice.",
)
OPS.register(
    "sep_conv_5x5",
    "nasforge.ops.darts:sep_conv_5x5",
    "DARTS separable conv: (ReLU, depthwise 5x5, pointwise 1x1, BN) twice.",
)
OPS.register(
    "dil_conv_3x3",
    "nasforge.ops.darts:dil_conv_3x3",
    "DARTS dilated conv: ReLU, depthwise 3x3 of dilation 2, pointwise 1x1, BN.",
)
OPS.register(
    "dil_conv_5x5",
    "nasforge.ops.darts:dil_conv_5x5",
    "DARTS dilated conv: ReLU, depthwise 5x5 of dilation 2, pointwise 1x1, BN.",
)

#: the operations of NAS-Bench-201, in the order of its papers' tables
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)

#: the eight operations of DARTS, in the order of its ``PRIMITIVES``; ``none``,
#: ``skip_connect`` and ``avg_pool_3x3`` are the NAS-Bench-201 operations of those names, which
#: are DARTS's (see :mod:`nasforge.ops.darts`)
DARTS_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)


def register_op(name: str, factory: OpFactory | str, summary: str = "") -> None:
    """Make ``factory`` available as operation ``name``.

    The factory is called as ``factory(c_in, c_out, stride, ndim, affine=affine)`` and returns
    an ``nn.Module`` mapping ``(batch, c_in, *spatial)`` to ``(batch, c_out, *spatial /
    stride)``; ``affine`` says whether its batch norms learn a scale and shift. A factory
    without an ``affine`` parameter is called as ``factory(c_in, c_out, stride, ndim)`` and
    refuses ``affine=False``. ``factory`` may also be a ``"module:attribute"`` string,
    imported on first use. The name must not contain ``|~+,=`` (it appears in NAS-Bench-201
    arch strings).
    """
    if not isinstance(name, str) or not name or any(c in name for c in "|~+,= "):
        raise ConfigError(f"operation name {name!r} must be a non-empty string without '|~+,= '")
    OPS.register(name, factory, summary)


def create_op(
    name: str,
    c_in: int,
    c_out: int,
    stride: int = 1,
    ndim: int = 2,
    *,
    affine: bool = True,
) -> nn.Module:
    """Create operation ``name`` mapping ``c_in`` to ``c_out`` channels.

    Args:
        name: a registered operation (see :func:`list_ops`).
        c_in: input channels.
        c_out: output channels.
        stride: 1 keeps the spatial size, 2 halves it (rounding up).
        ndim: 1 for signals ``(batch, c, length)``, 2 for images ``(batch, c, h, w)``.
        affine: whether batch norms learn a scale and shift (``False`` in DARTS-style
            supernets).

    Raises:
        UnknownNameError: ``name`` is not registered.
        ConfigError: a size argument is out of range, ``affine`` is not a bool, or
            ``affine=False`` is asked of a factory that does not take ``affine``.
    """
    factory = OPS.get(name)
    for field, value in (("c_in", c_in), ("c_out", c_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"operation {name!r}: {field}={value!r}; allowed: an integer >= 1")
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ConfigError(f"operation {name!r}: stride={stride!r}; allowed: 1 or 2")
    if ndim not in (1, 2) or isinstance(ndim, bool):
        raise ConfigError(f"operation {name!r}: ndim={ndim!r}; allowed: 1 (signals) or 2 (images)")
    if not isinstance(affine, bool):
        raise ConfigError(f"operation {name!r}: affine={affine!r}; allowed: True or False")
    if _takes_affine(factory):
        module: nn.Module = factory(c_in, c_out, stride, ndim, affine=affine)
    elif affine:
        module = factory(c_in, c_out, stride, ndim)
    else:
        raise ConfigError(
            f"operation {name!r}: affine=False; allowed: True only (its factory takes no "
            "'affine' parameter)"
        )
    return module


def _takes_affine(factory: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "affine" or p.kind == p.VAR_KEYWORD for p in params)


def list_ops() -> list[str]:
    """Names of the registered operations, built-ins first."""
    return OPS.names()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "DARTS_OPS",
    "NB201_OPS",
    "NORMS",
    "OPS",
    "BinaryConv",
    "ConvNormAct",
    "DepthwiseSeparableConv",
    "FireModule",
    "InvertedResidual",
    "OpFactory",
    "SqueezeExcite",
    "binarize",
    "create_activation",
    "create_conv",
    "create_dropout",
    "create_norm",
    "create_op",
    "create_supernet_op",
    "init_lecun_normal",
    "list_ops",
    "register_op",
]
