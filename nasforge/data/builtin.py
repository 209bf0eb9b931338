"""The built-in datasets: generated or shipped offline, so a first search needs no download."""

from __future__ import annotations

import random

import numpy as np

from nasforge.data.base import ArrayDataset
from nasforge.errors import ConfigError


def load_mnist1d(num_samples: int = 5000, seed: int = 42) -> ArrayDataset:
    """MNIST-1D (Greydanus 2020): 10 classes of noisy 1-D signals of length 40, shape (1, 40).

    Generated offline by the ``mnist1d`` package, already standardised (mean 0, std 1). The
    defaults give the standard 4,000 train / 1,000 test samples.

    Args:
        num_samples: samples in all; 80% train, 20% test.
        seed: seed of the generator (42 is the published dataset).
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 50:
        raise ConfigError(f"mnist1d: num_samples={num_samples!r}; allowed: an integer >= 50")
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, int(seed)
    # make_dataset seeds the global generators; give them back as they were
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        raw = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return ArrayDataset(raw["x"], raw["y"], raw["x_test"], raw["y_test"], name="mnist1d")


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> ArrayDataset:
    """scikit-learn's handwritten digits: 1,797 images of 8x8 pixels, shape (1, 8, 8), 10 classes.

    Pixels are standardised with the training set's mean and standard deviation; the split is
    stratified and fixed by ``seed`` (default: 1,437 train / 360 test).

    Args:
        test_fraction: share of the images held out as the test set.
        seed: seed of the train/test split.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_fraction, bool) or not 0.0 < test_fraction < 1.0:
        raise ConfigError(
            f"digits: test_fraction={test_fraction!r}; allowed: a number between 0 and 1"
        )
    x, y = sklearn_digits(return_X_y=True)
    x = x.reshape(-1, 1, 8, 8).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    mean, std = x_train.mean(), x_train.std()
    return ArrayDataset(
        (x_train - mean) / std, y_train, (x_test - mean) / std, y_test, name="digits"
    )
