"""``Task``: what a model space needs to know to build a network for some data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """Shape of one input sample (without the batch) and the number of classes to predict.

    ``input_shape`` is ``(channels, length)`` for 1-D signals and ``(channels, height, width)``
    for images.

    Example:
        >>> Task(input_shape=(1, 40), num_classes=10).ndim
        1
    """

    input_shape: tuple[int, ...]
    num_classes: int

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions: 1 for signals, 2 for images."""
        return len(self.input_shape) - 1
