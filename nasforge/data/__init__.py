"""Datasets for training evaluators: built-ins by name, or your own arrays and torch datasets.

Everything becomes an :class:`ArrayDataset` (train and test arrays plus the
:class:`~nasforge.space.Task` a model space builds for), small enough to hold in memory.
``mnist1d`` and ``digits`` need no download; the image datasets (``cifar10``, ``cifar100``,
``mnist``, ``fashion-mnist``, ``image-folder``: :mod:`nasforge.data.vision`) are read from
their standard files, downloaded on first use into a cache folder (:func:`data_root`).

Example:
    >>> data = load_dataset("digits")
    >>> data.task
    Task(input_shape=(1, 8, 8), num_classes=10)
    >>> import numpy as np
    >>> x, y = np.random.default_rng(0).normal(size=(100, 1, 32)), np.arange(100) % 4
    >>> load_dataset((x, y)).task.num_classes
    4
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from nasforge.data.base import ArrayDataset, Augmentation, from_arrays, from_torch
from nasforge.data.builtin import load_digits, load_mnist1d
from nasforge.data.download import DATA_ENV, data_root
from nasforge.data.vision import (
    load_cifar10,
    load_cifar100,
    load_fashion_mnist,
    load_image_folder,
    load_mnist,
)
from nasforge.errors import ConfigError, one_of
from nasforge.registry import Registry

DATASETS: Registry[ArrayDataset] = Registry("dataset")
DATASETS.register(
    "mnist1d",
    load_mnist1d,
    "MNIST-1D: 10 classes of 1-D signals, shape (1, 40), 4,000 train / 1,000 test, generated.",
)
DATASETS.register(
    "digits",
    load_digits,
    "scikit-learn digits: 10 classes of 8x8 images, shape (1, 8, 8), 1,437 train / 360 test.",
)
DATASETS.register(
    "cifar10",
    load_cifar10,
    "CIFAR-10: 10 classes of colour images, shape (3, 32, 32), 50,000 train / 10,000 test; "
    "downloaded (170 MB) on first use.",
)
DATASETS.register(
    "cifar100",
    load_cifar100,
    "CIFAR-100: 100 (or 20 coarse) classes of colour images, shape (3, 32, 32), 50,000 train / "
    "10,000 test; downloaded (169 MB) on first use.",
)
DATASETS.register(
    "mnist",
    load_mnist,
    "MNIST: 10 classes of handwritten digits, shape (1, 28, 28), 60,000 train / 10,000 test; "
    "downloaded (11 MB) on first use.",
)
DATASETS.register(
    "fashion-mnist",
    load_fashion_mnist,
    "Fashion-MNIST: 10 classes of clothes, shape (1, 28, 28), 60,000 train / 10,000 test; "
    "downloaded (30 MB) on first use.",
)
DATASETS.register(
    "image-folder",
    load_image_folder,
    "Your images: one sub-folder per class under option path (decoded with Pillow).",
)


def register_dataset(
    name: str, factory: Callable[..., ArrayDataset] | str, summary: str = ""
) -> None:
    """Make ``factory(**options) -> ArrayDataset`` available as dataset ``name``."""
    DATASETS.register(name, factory, summary)


def list_datasets() -> list[str]:
    """Names of the registered datasets, built-ins first."""
    return DATASETS.names()


def load_dataset(source: Any, **options: Any) -> ArrayDataset:
    """Load a dataset by name, or convert user data into an :class:`ArrayDataset`.

    Args:
        source: a registered name (``"mnist1d"``, ``"digits"``, ``"cifar10"``, see
            :func:`list_datasets`), a mapping ``{"name": ..., "options": {...}}`` (how a YAML
            config gives a name with options), an :class:`ArrayDataset`, arrays ``(x, y)`` or
            ``(x_train, y_train, x_test, y_test)``, a ``torch.utils.data.Dataset`` of ``(x, y)``
            pairs (a torchvision dataset, say), or a ``(train, test)`` pair of them.
        **options: for a name, the loader's options (e.g. ``num_samples`` for ``mnist1d``);
            for user data without a test set, ``test_fraction`` (0.2) and ``seed`` (0) of the
            split that makes one.

    Raises:
        UnknownNameError: no dataset is registered under the name.
        ConfigError: an option is unknown, or the data has the wrong shape, type or length.
    """
    if isinstance(source, Mapping):
        name, given = dataset_spec(source)
        source, options = name, {**given, **options}
    if isinstance(source, str):
        loader = DATASETS.get(source)
        _check_options(f"dataset {source!r}", loader, options)
        return loader(**options)
    if isinstance(source, ArrayDataset):
        _check_options("an ArrayDataset", lambda: None, options)
        return source
    if _is_torch_dataset(source):
        _check_options("a torch dataset", from_torch, options, skip=("train", "test"))
        return from_torch(source, **options)
    if isinstance(source, (tuple, list)):
        if len(source) == 2 and all(_is_torch_dataset(s) for s in source):
            _check_options("torch datasets", from_torch, options, skip=("train", "test"))
            return from_torch(source[0], source[1], **options)
        _check_options("arrays", from_arrays, options)
        return from_arrays(*source, **options)
    raise ConfigError(
        f"dataset: got a {type(source).__name__}; allowed: a name ({one_of(list_datasets())}), "
        "(x, y), (x_train, y_train, x_test, y_test) or a torch Dataset"
    )


def dataset_spec(source: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The name and options of a dataset given as ``{"name": ..., "options": {...}}``, checked
    (a known name, options its loader takes) without loading anything.

    Example:
        >>> dataset_spec({"name": "cifar10", "options": {"max_samples": 5000}})
        ('cifar10', {'max_samples': 5000})
    """
    unknown = sorted(set(source) - {"name", "options"})
    if unknown or not isinstance(source.get("name"), str):
        got = f"key {unknown[0]!r}" if unknown else f"name {source.get('name')!r}"
        raise ConfigError(
            f"dataset: got {got}; allowed: {{name: <{one_of(list_datasets())}>, options: {{...}}}}"
        )
    options = source.get("options") or {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"dataset options: got {options!r}; allowed: a mapping of options")
    name = source["name"]
    _check_options(f"dataset {name!r}", DATASETS.get(name), dict(options))
    return name, dict(options)


def _is_torch_dataset(value: Any) -> bool:
    torch = sys.modules.get("torch")  # if torch was never imported, value is no torch dataset
    return torch is not None and isinstance(value, torch.utils.data.Dataset)


def _check_options(
    what: str, factory: Callable[..., Any], options: dict[str, Any], skip: tuple[str, ...] = ()
) -> None:
    params = inspect.signature(factory).parameters.values()
    allowed = [
        p.name for p in params if p.kind == p.KEYWORD_ONLY or p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    allowed = [name for name in allowed if name not in skip]
    for name in options:
        if name not in allowed:
            raise ConfigError(
                f"{what} has no option {name!r}; allowed: {one_of(allowed) or 'no options'}"
            )


__all__ = [
    "DATASETS",
    "DATA_ENV",
    "ArrayDataset",
    "Augmentation",
    "data_root",
    "dataset_spec",
    "from_arrays",
    "from_torch",
    "list_datasets",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_mnist1d",
    "register_dataset",
]
