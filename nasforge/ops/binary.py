"""Binarised convolution: weights and activations in {-1, +1} (Courbariaux et al. 2016).

The forward pass uses ``sign`` (with ``sign(0) = +1``, so every value is -1 or +1); the
backward pass is the straight-through estimator of the paper: the gradient passes unchanged
where ``|x| <= 1`` and is cancelled elsewhere (the gradient of ``hardtanh``). It is written as
``clamp(x, -1, 1) + (sign(x) - clamp(x, -1, 1)).detach()`` rather than a custom
``autograd.Function``, so that TorchScript tracing and both ONNX exporters see ordinary
operations.

The latent real-valued weights are what the optimiser updates; the paper keeps them in
``[-1, 1]`` after each step (:meth:`BinaryConv.clip_weights_`), since outside that range the
estimator passes no gradient to them.

Example:
    >>> import torch
    >>> x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    >>> y = binarize(x)
    >>> y.tolist()
    [-1.0, -1.0, 1.0, 1.0, 1.0]
    >>> y.sum().backward()
    >>> x.grad.tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0]
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the usual name

from nasforge.ops.layers import create_conv


def binarize(x: torch.Tensor) -> torch.Tensor:
    """``+1`` where ``x >= 0``, ``-1`` elsewhere, with the straight-through gradient
    ``1 if |x| <= 1 else 0``."""
    clipped = x.clamp(-1.0, 1.0)
    signs = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    return clipped + (signs - clipped).detach()


class BinaryConv(nn.Module):
    """A convolution whose inputs and weights are binarised (:func:`binarize`) in the forward.

    Takes the arguments of :func:`nasforge.ops.layers.create_conv` (no bias: a batch norm
    usually follows, as in the paper). The output of a ``k``-tap binary convolution is an
    integer between ``-k * c_in / groups`` and ``+k * c_in / groups``.

    Example:
        >>> conv = BinaryConv(4, 8, kernel=3, stride=2, ndim=1)
        >>> conv(torch.randn(2, 4, 9)).shape
        torch.Size([2, 8, 5])
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
    ) -> None:
        super().__init__()
        self.ndim = ndim
        self.conv = create_conv(
            c_in, c_out, kernel, stride=stride, dilation=dilation, groups=groups, ndim=ndim
        )
        # uniform in [-1, 1]: all latent weights start where the estimator passes gradient
        nn.init.uniform_(self.conv.weight, -1.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        x, weight = binarize(x), binarize(conv.weight)
        if self.ndim == 1:
            return F.conv1d(x, weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)
        return F.conv2d(x, weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)

    @torch.no_grad()
    def clip_weights_(self) -> None:
        """Clip the latent weights to ``[-1, 1]``; call it after each optimiser step."""
        self.conv.weight.clamp_(-1.0, 1.0)
