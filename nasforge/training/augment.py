"""Augmentation of training batches as tensor operations on the device.

A dataset's :class:`~nasforge.data.Augmentation` becomes a function ``(x, generator) -> x`` of
a whole batch: the random choices (one shift and one flip per image) are drawn on the CPU from
the training loop's seeded ``torch.Generator``, so they are the same on every device, and the
pixels are moved where they are, in one gather, with no per-image Python loop and no copy
back to the host.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nasforge.data import Augmentation

#: ``(batch, generator) -> augmented batch``, applied to training batches only
BatchAugmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def augmentation(spec: Augmentation, fill: torch.Tensor | None = None) -> BatchAugmentation:
    """The batch function of ``spec``: a random crop of each image padded by ``spec.padding``
    pixels on each side, then (``spec.flip``) a horizontal flip with probability 1/2. A batch
    of signals ``(n, channels, length)`` is shifted (and flipped) along its length.

    ``fill``: the value of the padding per channel (``(channels,)``; ``None``: 0), so that the
    padding of normalised images is the value black pixels take.

    Example:
        >>> crop = augmentation(Augmentation(padding=1, flip=False))
        >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
        >>> crop(x, torch.Generator().manual_seed(0)).shape
        torch.Size([1, 1, 3, 3])
    """
    padding, flip = spec.padding, spec.flip

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        signals = x.ndim == 3  # (n, channels, length): shifted along its one axis
        if signals:
            x = x.unsqueeze(2)
        n, channels, height, width = x.shape
        if padding > 0:
            pad_rows = 0 if signals else padding
            shifts = torch.randint(0, 2 * padding + 1, (2, n), generator=generator)
            shifts = shifts.to(x.device, non_blocking=True)
            padded = x.new_zeros((n, channels, height + 2 * pad_rows, width + 2 * padding))
            if fill is not None:
                padded += fill.to(x.device, x.dtype).view(1, channels, 1, 1)
            padded[:, :, pad_rows : pad_rows + height, padding : padding + width] = x
            rows = torch.arange(height, device=x.device) + (0 if signals else shifts[0][:, None])
            cols = torch.arange(width, device=x.device) + shifts[1][:, None]  # (n, width)
            x = padded[
                torch.arange(n, device=x.device)[:, None, None, None],
                torch.arange(channels, device=x.device)[None, :, None, None],
                rows.expand(n, height)[:, None, :, None],
                cols[:, None, None, :],
            ]
        if flip:
            flipped = torch.rand(n, generator=generator) < 0.5
            x = torch.where(flipped.to(x.device).view(n, 1, 1, 1), x.flip(3), x)
        return x.squeeze(2) if signals else x

    return augment


__all__ = ["BatchAugmentation", "augmentation"]
