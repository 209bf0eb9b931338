"""Datasets for training evaluators: built-ins by name, or your own arrays and torch datasets.

Everything becomes an :class:`ArrayDataset` (train and test arrays plus the
:class:`~nasforge.space.Task` a model space builds for), small enough to hold in memory.

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
from collections.abc import Callable
from typing import Any

from nasforge.data.base import ArrayDataset, from_arrays, from_torch
from nasforge.data.builtin import load_digits, load_mnist1d
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
        source: a registered name (``"mnist1d"``, ``"digits"``, see :func:`list_datasets`), an
            :class:`ArrayDataset`, arrays ``(x, y)`` or ``(x_train, y_train, x_test, y_test)``,
            a ``torch.utils.data.Dataset`` of ``(x, y)`` pairs, or a ``(train, test)`` pair of
            them.
        **options: for a name, the loader's options (e.g. ``num_samples`` for ``mnist1d``);
            for user data without a test set, ``test_fraction`` (0.2) and ``seed`` (0) of the
            split that makes one.

    Raises:
        UnknownNameError: no dataset is registered under the name.
        ConfigError: an option is unknown, or the data has the wrong shape, type or length.
    """
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
    "ArrayDataset",
    "from_arrays",
    "from_torch",
    "list_datasets",
    "load_dataset",
    "load_digits",
    "load_mnist1d",
    "register_dataset",
]
