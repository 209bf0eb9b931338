"""``ArrayDataset``: a small dataset held in memory, and conversions from user data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.space import Task

_SHAPES = "(n, length), (n, channels, length) or (n, channels, height, width)"


@dataclass(frozen=True)
class Augmentation:
    """Random changes to each training image, drawn anew for every batch: shift by up to
    ``padding`` pixels (a random crop of the image padded by ``padding`` on each side, the
    padding black) and, when ``flip``, a horizontal flip with probability 1/2. Signals
    ``(channels, length)`` are shifted (and flipped) along their length.

    The training toolkit applies it on the device, to training batches only
    (:func:`nasforge.training.augmentation`); ``padding=4, flip=True`` is the standard for CIFAR.
    """

    padding: int = 4
    flip: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            raise ConfigError(f"augmentation padding={self.padding!r}; allowed: an integer >= 0")


@dataclass(frozen=True, eq=False)
class ArrayDataset:
    """Train and test arrays of a classification task, checked and in canonical form.

    Inputs become arrays of shape ``(n, channels, length)`` (signals; ``(n, length)`` gains a
    channel axis) or ``(n, channels, height, width)`` (images), ``uint8`` when given so (images
    take a quarter of the memory of ``float32``: 184 MB instead of 737 MB for CIFAR-10), else
    ``float32``; labels become ``int64`` class indices ``0..num_classes-1``. ``num_classes`` is
    inferred from the labels when not given.

    ``mean`` and ``std`` (one per channel, in the units of the stored values) say how a network
    sees the inputs: :meth:`float_inputs` gives ``(x - mean) / std`` as ``float32``, and the
    training toolkit normalises so when it prepares the data. ``augment`` is the
    :class:`Augmentation` of training batches (``None``: none).

    Example:
        >>> x, y = np.zeros((6, 40)), np.array([0, 1, 2, 0, 1, 2])
        >>> data = ArrayDataset(x, y, x[:3], y[:3])
        >>> data.task
        Task(input_shape=(1, 40), num_classes=3)
        >>> [a.shape for a in data.split_validation(0.5, seed=0)]
        [(3, 1, 40), (3,), (3, 1, 40), (3,)]
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "custom"
    num_classes: int = 0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augment: Augmentation | None = None

    def __post_init__(self) -> None:
        x_train, y_train = _check_pair(self.x_train, self.y_train, "x_train", "y_train")
        x_test, y_test = _check_pair(self.x_test, self.y_test, "x_test", "y_test")
        if x_train.shape[1:] != x_test.shape[1:]:
            raise ConfigError(
                f"x_test has samples of shape {x_test.shape[1:]}; allowed: the shape of "
                f"x_train's samples, {x_train.shape[1:]}"
            )
        seen = int(max(y_train.max(), y_test.max())) + 1
        num_classes = self.num_classes or seen
        if num_classes < seen:
            raise ConfigError(
                f"num_classes={self.num_classes} but the labels go up to {seen - 1}; "
                f"allowed: num_classes >= {seen}"
            )
        for name, value in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "y_test", y_test)
        object.__setattr__(self, "num_classes", num_classes)
        channels = x_train.shape[1]
        for field in ("mean", "std"):
            stats = getattr(self, field)
            if stats is None:
                continue
            values = np.asarray(stats, dtype=np.float64).reshape(-1)
            if len(values) == 1:
                values = np.repeat(values, channels)
            if len(values) != channels or not np.isfinite(values).all():
                raise ConfigError(
                    f"{field}={stats!r}; allowed: {channels} finite numbers, one per channel"
                )
            if field == "std" and values.min() <= 0:
                raise ConfigError(f"std={stats!r}; allowed: positive numbers, one per channel")
            object.__setattr__(self, field, tuple(float(v) for v in values))
        if (self.mean is None) != (self.std is None):
            raise ConfigError("mean and std: one is given; allowed: both or neither")

    def __repr__(self) -> str:
        return (
            f"ArrayDataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"{self.task})"
        )

    @property
    def task(self) -> Task:
        """What a model space needs: the shape of one input and the number of classes."""
        return Task(input_shape=tuple(self.x_train.shape[1:]), num_classes=self.num_classes)

    def float_inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` (some of this dataset's inputs) as the network sees them: ``float32``, and
        ``(x - mean) / std`` per channel when this dataset has ``mean`` and ``std``."""
        x = np.asarray(x, dtype=np.float32)
        if self.mean is None or self.std is None:
            return x
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = np.asarray(self.mean, dtype=np.float32).reshape(shape)
        return (x - mean) / np.asarray(self.std, dtype=np.float32).reshape(shape)

    def sha256(self) -> str:
        """A SHA-256 of the four arrays in canonical form (dtype, shape and bytes): what a
        search's record keeps so that a rerun can tell it trained on the same data.

        ``uint8`` inputs without ``mean``/``std`` (a user's arrays, which earlier versions kept
        as ``float32``) are hashed as ``float32``, so an experiment stored before still resumes.
        """
        import hashlib

        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            if array.dtype == np.uint8 and self.mean is None:
                array = array.astype(np.float32)
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    def split_validation(
        self, fraction: float, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hold out a random ``fraction`` of the training set: ``(x_train, y_train, x_val, y_val)``.

        The same ``seed`` gives the same split.
        """
        return _split(self.x_train, self.y_train, fraction, seed, "val_fraction")


def from_arrays(*arrays: Any, test_fraction: float = 0.2, seed: int = 0) -> ArrayDataset:
    """An :class:`ArrayDataset` from ``(x, y)`` or ``(x_train, y_train, x_test, y_test)``.

    Arrays may be NumPy arrays, torch tensors or nested lists. Given only ``(x, y)``, a random
    ``test_fraction`` of it (drawn with ``seed``) becomes the test set.
    """
    if len(arrays) == 4:
        return ArrayDataset(*arrays)
    if len(arrays) == 2:
        x, y = _check_pair(arrays[0], arrays[1], "x", "y")
        x_train, y_train, x_test, y_test = _split(x, y, test_fraction, seed, "test_fraction")
        return ArrayDataset(x_train, y_train, x_test, y_test)
    raise ConfigError(
        f"dataset: got {len(arrays)} arrays; allowed: (x, y) or (x_train, y_train, x_test, y_test)"
    )


def from_torch(
    train: Any, test: Any = None, test_fraction: float = 0.2, seed: int = 0
) -> ArrayDataset:
    """An :class:`ArrayDataset` from ``torch.utils.data.Dataset`` objects of ``(x, y)`` pairs.

    The samples are read once into memory (NAS trains many models on the same data). Without a
    ``test`` dataset, a random ``test_fraction`` of ``train`` becomes the test set.
    """
    x, y = _materialise(train, "dataset")
    if test is None:
        return from_arrays(x, y, test_fraction=test_fraction, seed=seed)
    x_test, y_test = _materialise(test, "test dataset")
    return ArrayDataset(x, y, x_test, y_test)


def _materialise(dataset: Any, field: str) -> tuple[np.ndarray, np.ndarray]:
    tensors = getattr(dataset, "tensors", None)  # TensorDataset: no need to loop
    if isinstance(tensors, tuple) and len(tensors) == 2:
        return _to_numpy(tensors[0], field), _to_numpy(tensors[1], field)
    xs, ys = [], []
    for index, item in enumerate(_iterate(dataset)):
        if not isinstance(item, Sequence) or len(item) != 2:
            raise ConfigError(
                f"{field}: item {index} is a {type(item).__name__}; allowed: an (x, y) pair"
            )
        xs.append(_to_numpy(item[0], field))
        ys.append(_to_numpy(item[1], field))
    if not xs:
        raise ConfigError(f"{field} is empty; allowed: at least one (x, y) pair")
    try:
        return np.stack(xs), np.stack(ys)
    except ValueError:
        raise ConfigError(f"{field}: samples differ in shape; allowed: one shape for all") from None


def _iterate(dataset: Any) -> Any:
    try:
        n = len(dataset)
    except TypeError:
        return iter(dataset)  # an IterableDataset
    return (dataset[i] for i in range(n))


def _to_numpy(value: Any, field: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: cannot read {type(value).__name__} as an array") from None


def _check_pair(x: Any, y: Any, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = _to_numpy(x, x_name), _to_numpy(y, y_name)
    if x.ndim == 2:
        x = x[:, None, :]
    if x.ndim not in (3, 4):
        raise ConfigError(f"{x_name} has shape {x.shape}; allowed: {_SHAPES}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ConfigError(f"{x_name} has dtype {x.dtype}; allowed: real numbers")
    if y.ndim != 1:
        raise ConfigError(f"{y_name} has shape {y.shape}; allowed: (n,) class indices")
    if len(x) != len(y):
        raise ConfigError(
            f"{x_name} has {len(x)} samples but {y_name} has {len(y)}; allowed: equal lengths"
        )
    if len(y) == 0:
        raise ConfigError(f"{y_name} is empty; allowed: at least one sample")
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        raise ConfigError(f"{y_name} has dtype {y.dtype}; allowed: integer class indices")
    with np.errstate(invalid="ignore"):
        labels = y.astype(np.int64)
    if not np.array_equal(labels, y) or labels.min() < 0:
        raise ConfigError(f"{y_name} holds {_bad_label(y)}; allowed: integer class indices >= 0")
    dtype = np.uint8 if x.dtype == np.uint8 else np.float32
    return np.ascontiguousarray(x, dtype=dtype), labels


def _bad_label(y: np.ndarray) -> str:
    with np.errstate(invalid="ignore"):
        bad = y[(y.astype(np.int64) != y) | (y < 0)]
    return repr(bad[0].item()) if bad.size else "a non-integer label"


def _split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int, field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(fraction, bool) or not 0.0 < fraction < 1.0:
        raise ConfigError(f"{field}={fraction!r}; allowed: a number between 0 and 1 (exclusive)")
    n_held = round(fraction * len(y))
    if not 0 < n_held < len(y):
        raise ConfigError(
            f"{field}={fraction} of {len(y)} samples leaves an empty part; allowed: more samples "
            "or another fraction"
        )
    order = np.random.default_rng(seed).permutation(len(y))
    kept, held = order[n_held:], order[:n_held]
    return x[kept], y[kept], x[held], y[held]
