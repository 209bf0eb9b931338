"""Data preparation: splits as tensors on the device or on the host, subsets, batch bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.data import load_dataset
from nasforge.errors import ConfigError
from nasforge.space import Task
from nasforge.training import TrainData, batch_bounds, place_data, prepare_data

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("n", "batch_size", "bounds"),
    [
        (6, 3, [(0, 3), (3, 6)]),
        (7, 3, [(0, 3), (3, 7)]),  # a last batch of one sample joins the one before
        (8, 3, [(0, 3), (3, 6), (6, 8)]),
        (2, 128, [(0, 2)]),
        (1, 4, [(0, 1)]),  # one batch stays, even of one sample
        (0, 4, []),
    ],
)
def test_batch_bounds(n: int, batch_size: int, bounds: list[tuple[int, int]]) -> None:
    assert batch_bounds(n, batch_size) == bounds


def arrays() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 1, 8)).astype(np.float32), np.arange(40) % 2
    return x[:24], y[:24], x[24:32], y[24:32], x[32:], y[32:]


def test_place_data_keeps_data_on_the_host_over_the_limit() -> None:
    data = arrays()
    nbytes = sum(a.nbytes for a in data)
    order = torch.arange(24)
    task = Task((1, 8), 2)
    fits = place_data(task, data, order, CPU, max_device_bytes=nbytes)
    assert not fits.on_host and fits.device == CPU
    over = place_data(task, data, order, CPU, max_device_bytes=nbytes - 1)
    assert over.on_host and over.device == CPU
    assert not place_data(task, data, order, CPU, max_device_bytes=None).on_host  # no limit
    assert torch.equal(over.x_train, fits.x_train) and over.y_test.tolist() == data[5].tolist()
    # a batch is taken where the data is and moved to the training device
    index = torch.tensor([3, 0])
    assert torch.equal(over.batch(over.x_train, index), torch.as_tensor(data[0])[index])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_data_over_the_limit_stays_pinned_on_the_host_for_cuda() -> None:
    data = arrays()
    cuda = torch.device("cuda")
    over = place_data(Task((1, 8), 2), data, torch.arange(24), cuda, max_device_bytes=1)
    assert over.on_host and over.x_train.is_pinned() and over.x_train.device.type == "cpu"
    assert over.batch(over.x_train, torch.tensor([0, 1])).device.type == "cuda"
    fits = place_data(Task((1, 8), 2), data, torch.arange(24), cuda, max_device_bytes=None)
    assert not fits.on_host and fits.x_train.device.type == "cuda"


def test_prepare_data_splits_with_the_data_seed() -> None:
    digits = load_dataset("digits")
    data = prepare_data(digits, CPU, val_fraction=0.1, data_seed=0)
    assert isinstance(data, TrainData) and data.task == digits.task
    assert len(data.y_train) + len(data.y_val) == len(digits.y_train)
    assert len(data.y_test) == len(digits.y_test)
    again = prepare_data(digits, CPU, val_fraction=0.1, data_seed=0)
    assert torch.equal(again.y_val, data.y_val) and torch.equal(
        again.subset_order, data.subset_order
    )
    other = prepare_data(digits, CPU, val_fraction=0.1, data_seed=1)
    assert not torch.equal(other.subset_order, data.subset_order)
    # a smaller training fraction is always a subset of a larger one
    quarter, half = data.train_rows(0.25), data.train_rows(0.5)
    assert quarter is not None and half is not None and data.train_rows(1.0) is None
    assert len(quarter) == round(0.25 * len(data.y_train))
    assert set(quarter.tolist()) <= set(half.tolist())
    assert data.train_rows(1e-9) is not None and len(data.train_rows(1e-9)) == 2  # type: ignore[arg-type]


def test_a_split_that_leaves_too_little_training_data_is_refused() -> None:
    tiny = load_dataset((np.zeros((10, 1, 4), dtype=np.float32), np.arange(10) % 2), seed=0)
    with pytest.raises(ConfigError, match=r"^val_fraction=0.9 leaves 1 training sample;"):
        prepare_data(tiny, CPU, val_fraction=0.9, data_seed=0)
