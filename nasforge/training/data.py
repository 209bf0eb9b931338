"""Data preparation: a dataset's splits as tensors on the training device (or pinned on the
host when they would take too much of it), normalised per channel, the fixed subset a training
fraction uses, the augmentation of training batches, and the bounds of each batch.

The datasets NAS trains thousands of models on are small, so the whole dataset is held as
tensors and batches are drawn by index from a seeded ``torch.Generator``: a ``DataLoader`` with
worker processes would cost more than the training of a small network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nasforge.data import ArrayDataset, Augmentation
from nasforge.errors import ConfigError
from nasforge.space import Task
from nasforge.training.augment import BatchAugmentation, augmentation

#: without a user limit, data goes to a CUDA device when it takes at most this share of the
#: device's free memory, leaving the rest to activations of the networks being trained
DEVICE_DATA_SHARE = 0.25


@dataclass(frozen=True)
class TrainData:
    """The splits of one dataset as tensors, and where batches are computed.

    ``on_host`` is true when the tensors stayed in host memory (pinned when the device is CUDA)
    because they would take too much of the device; each batch is then copied over as it is used.
    ``subset_order`` is the fixed (``data_seed``) order in which ``train_fraction`` takes training
    samples, so a smaller fraction is always a subset of a larger one. ``augment`` (``None``:
    none) changes each training batch of :meth:`train_batch`, on the device: the hook through
    which a dataset's :class:`~nasforge.data.Augmentation`, or any function ``(x, generator)
    -> x`` a user sets with ``dataclasses.replace``, reaches the training loops.
    """

    task: Task
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    subset_order: torch.Tensor
    device: torch.device
    on_host: bool
    augment: BatchAugmentation | None = None

    def train_rows(self, fraction: float) -> torch.Tensor | None:
        """Indices of the training samples a ``fraction`` uses (``None``: all of them)."""
        if fraction >= 1.0:
            return None
        keep = max(2, round(fraction * len(self.y_train)))
        return self.subset_order[:keep]

    def batch(self, x: torch.Tensor, index: torch.Tensor | slice) -> torch.Tensor:
        """``x[index]`` on the training device (a no-op copy when the data already is there)."""
        return x[index].to(self.device, non_blocking=True)

    def train_batch(
        self, index: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The training samples ``index`` on the device, augmented (when this data has an
        ``augment``) with random choices drawn from ``generator``: what a training step uses.
        Validation, test and scoring batches are never augmented."""
        x, y = self.batch(self.x_train, index), self.batch(self.y_train, index)
        if self.augment is not None:
            x = self.augment(x, generator)
        return x, y


def prepare_data(
    data: ArrayDataset,
    device: torch.device,
    val_fraction: float,
    data_seed: int,
    max_device_bytes: float | None = None,
) -> TrainData:
    """Split ``val_fraction`` of ``data``'s training set off for validation and place all splits.

    The validation split and the order in which a training fraction takes samples are fixed by
    ``data_seed`` (not by a run's seed), so every run sees the same splits. Inputs become
    ``float32``, normalised per channel with the dataset's ``mean`` and ``std`` when it has them
    (``uint8`` images are converted on the device, after the copy: a quarter of the bytes to
    move); training batches get the dataset's :class:`~nasforge.data.Augmentation`.

    Raises:
        ConfigError: the validation split leaves fewer than 2 training samples.

    Example:
        >>> from nasforge.data import load_dataset
        >>> data = prepare_data(load_dataset("digits"), torch.device("cpu"), 0.1, data_seed=0)
        >>> len(data.y_train), len(data.y_val), data.on_host
        (1293, 144, False)
    """
    x_train, y_train, x_val, y_val = data.split_validation(val_fraction, data_seed)
    if len(y_train) < 2:
        raise ConfigError(
            f"val_fraction={val_fraction} leaves {len(y_train)} training sample; "
            "allowed: a split that leaves at least 2"
        )
    subset_order = torch.randperm(len(y_train), generator=torch.Generator().manual_seed(data_seed))
    arrays = (x_train, y_train, x_val, y_val, data.x_test, data.y_test)
    normalise = None if data.mean is None or data.std is None else (data.mean, data.std)
    return place_data(
        data.task, arrays, subset_order, device, max_device_bytes, normalise, data.augment
    )


def place_data(
    task: Task,
    arrays: tuple[np.ndarray, ...],
    subset_order: torch.Tensor,
    device: torch.device,
    max_device_bytes: float | None,
    normalise: tuple[Sequence[float], Sequence[float]] | None = None,
    augment: Augmentation | None = None,
) -> TrainData:
    """Put ``(x_train, y_train, x_val, y_val, x_test, y_test)`` on ``device`` when they fit.

    They fit when their bytes (integer inputs counted as ``float32``) are at most
    ``max_device_bytes``, or, when that is ``None``, at most :data:`DEVICE_DATA_SHARE` of the
    free memory of a CUDA device (always on other devices). Integer inputs (``uint8`` images)
    become ``float32``; all inputs become ``(x - mean) / std`` per channel when ``normalise`` is
    ``(mean, std)``. ``augment`` is the augmentation of training batches.
    """
    tensors = [torch.as_tensor(a) for a in arrays]
    # integer inputs (uint8 images) take float32's 4 bytes once converted
    nbytes = sum(
        (4 if i % 2 == 0 and not t.is_floating_point() else t.element_size()) * t.nelement()
        for i, t in enumerate(tensors)
    )
    if max_device_bytes is not None:
        fits = nbytes <= max_device_bytes
    elif device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        fits = nbytes <= DEVICE_DATA_SHARE * free
    else:
        fits = True
    if fits:
        tensors = [t.to(device) for t in tensors]
    mean, std = (None, None) if normalise is None else _channel_stats(normalise, tensors[0])
    for i in (0, 2, 4):  # the inputs
        tensors[i] = tensors[i] if tensors[i].is_floating_point() else tensors[i].float()
        if mean is not None and std is not None:
            tensors[i] = (tensors[i] - mean.to(tensors[i].device)) / std.to(tensors[i].device)
    if not fits and device.type == "cuda":  # page-locked memory: asynchronous per-batch copies
        tensors = [t.pin_memory() for t in tensors]
    fill = None if mean is None or std is None else (-mean / std).reshape(-1)
    x_train, y_train, x_val, y_val, x_test, y_test = tensors
    return TrainData(
        task, x_train, y_train, x_val, y_val, x_test, y_test, subset_order, device, not fits,
        None if augment is None else augmentation(augment, fill),
    )  # fmt: skip


def _channel_stats(
    normalise: tuple[Sequence[float], Sequence[float]], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean`` and ``std`` as tensors that broadcast over a batch of ``x``'s shape."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean, std = (torch.tensor(v, dtype=torch.float32).reshape(shape) for v in normalise)
    return mean, std


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch; a last batch of one sample joins the one before it
    (batch norm cannot train on a single sample).

    Example:
        >>> batch_bounds(7, 3)
        [(0, 3), (3, 7)]
        >>> batch_bounds(8, 3)
        [(0, 3), (3, 6), (6, 8)]
    """
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds
