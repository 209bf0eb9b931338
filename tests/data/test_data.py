from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from nasforge.data import ArrayDataset, from_arrays, list_datasets, load_dataset
from nasforge.errors import ConfigError, UnknownNameError
from nasforge.space import Task


@pytest.fixture(scope="module")
def mnist1d() -> ArrayDataset:
    return load_dataset("mnist1d")


@pytest.mark.parametrize("name", list_datasets())
def test_registered_dataset_is_consistent(
    name: str, all_offline_files: dict[str, dict[str, Any]]
) -> None:
    # the image datasets read tiny generated files from $NASFORGE_DATA; nothing downloads
    data = load_dataset(name, **all_offline_files.get(name, {}))
    assert isinstance(data, ArrayDataset)
    assert data.x_train.dtype in (np.float32, np.uint8) and data.y_train.dtype == np.int64
    assert data.x_train.shape[1:] == data.x_test.shape[1:] == data.task.input_shape
    assert len(data.x_train) == len(data.y_train) and len(data.x_test) == len(data.y_test)
    assert data.task.ndim in (1, 2)
    assert set(np.unique(data.y_train)) == set(range(data.task.num_classes))
    assert np.isfinite(data.x_train).all()


def test_mnist1d(mnist1d: ArrayDataset) -> None:
    assert mnist1d.task == Task(input_shape=(1, 40), num_classes=10)
    assert mnist1d.x_train.shape == (4000, 1, 40) and mnist1d.x_test.shape == (1000, 1, 40)
    everything = np.concatenate([mnist1d.x_train, mnist1d.x_test])
    assert abs(everything.mean()) < 1e-3 and abs(everything.std() - 1) < 1e-3


def test_mnist1d_leaves_the_global_generators_alone() -> None:
    np.random.seed(7)
    random.seed(7)
    load_dataset("mnist1d", num_samples=100)
    np.random.seed(7)
    expected_np = np.random.random()
    random.seed(7)
    expected_py = random.random()
    np.random.seed(7)
    random.seed(7)
    load_dataset("mnist1d", num_samples=100)
    assert np.random.random() == expected_np and random.random() == expected_py


def test_digits() -> None:
    data = load_dataset("digits")
    assert data.task == Task(input_shape=(1, 8, 8), num_classes=10)
    assert (len(data.y_train), len(data.y_test)) == (1437, 360)
    assert abs(data.x_train.mean()) < 1e-4 and abs(data.x_train.std() - 1) < 1e-3
    again = load_dataset("digits")
    assert np.array_equal(data.y_test, again.y_test)


def test_split_validation_is_seeded_and_disjoint(mnist1d: ArrayDataset) -> None:
    x_tr, y_tr, x_val, y_val = mnist1d.split_validation(0.1, seed=3)
    assert (len(y_tr), len(y_val)) == (3600, 400)
    assert x_tr.shape[1:] == x_val.shape[1:] == (1, 40)
    again = mnist1d.split_validation(0.1, seed=3)
    assert np.array_equal(x_val, again[2]) and np.array_equal(y_val, again[3])
    other = mnist1d.split_validation(0.1, seed=4)
    assert not np.array_equal(x_val, other[2])
    rows = {r.tobytes() for r in x_tr}
    assert not any(r.tobytes() in rows for r in x_val)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1e-6])
def test_split_validation_refuses_empty_parts(mnist1d: ArrayDataset, fraction: float) -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        mnist1d.split_validation(fraction)


def test_from_two_arrays_splits_off_a_test_set() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 20)), np.arange(50) % 5
    data = load_dataset((x, y), test_fraction=0.2, seed=1)
    assert data.task == Task(input_shape=(1, 20), num_classes=5)  # a channel axis was added
    assert (len(data.y_train), len(data.y_test)) == (40, 10)
    assert np.array_equal(load_dataset((x, y), seed=1).y_test, data.y_test)


def test_from_four_arrays_keeps_them() -> None:
    x = np.ones((6, 3, 4, 4))
    data = load_dataset([x, [0, 1, 2, 0, 1, 2], x[:2], np.array([1.0, 2.0])])
    assert data.task == Task(input_shape=(3, 4, 4), num_classes=3)
    assert data.y_test.tolist() == [1, 2] and data.y_test.dtype == np.int64


def test_from_torch_tensor_dataset() -> None:
    x, y = torch.randn(30, 2, 16), torch.arange(30) % 3
    data = load_dataset(TensorDataset(x, y))
    assert data.task == Task(input_shape=(2, 16), num_classes=3)
    assert len(data.y_train) + len(data.y_test) == 30


class Squares(Dataset):  # type: ignore[type-arg]
    """A map-style dataset that is not a TensorDataset."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.full((1, 5, 5), float(i)), i % 2


def test_from_torch_train_and_test_datasets() -> None:
    data = load_dataset((Squares(), Squares()))
    assert data.task == Task(input_shape=(1, 5, 5), num_classes=2)
    assert len(data.y_train) == len(data.y_test) == 12
    assert data.x_train[3, 0, 0, 0] == 3.0


def test_array_dataset_passes_through() -> None:
    data = from_arrays(np.zeros((10, 1, 8)), np.arange(10) % 2)
    assert load_dataset(data) is data


def test_infinite_inputs_are_allowed() -> None:
    """The data is the user's; training reports a NaN loss instead."""
    x = np.ones((10, 1, 8))
    x[0, 0, 0] = np.inf
    data = load_dataset((x, np.arange(10) % 2))
    assert np.isinf(np.concatenate([data.x_train, data.x_test])).sum() == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ((np.zeros((10, 1, 8)), np.zeros(9)), "x has 10 samples but y has 9"),
        ((np.zeros(10), np.zeros(10)), r"x has shape \(10,\)"),
        ((np.zeros((4, 1, 2, 2, 2)), np.zeros(4)), "x has shape"),
        ((np.zeros((4, 8)), np.zeros((4, 2))), "y has shape"),
        ((np.zeros((4, 8)), np.array([0, 1.5, 0, 1])), "y holds 1.5"),
        ((np.zeros((4, 8)), np.array([0, -1, 0, 1])), "y holds -1"),
        ((np.zeros((4, 8)), np.array(["a", "b", "c", "d"])), "y has dtype"),
        ((np.zeros((4, 8)), np.zeros(4), np.zeros((2, 8))), "got 3 arrays"),
        ((np.zeros((4, 8)), np.zeros(4), np.zeros((2, 9)), np.zeros(2)), "x_test has samples"),
        (np.zeros((4, 8)), "dataset: got a ndarray"),
    ],
)
def test_bad_user_data_raises_config_error(source: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dataset(source)


def test_unknown_name_and_option() -> None:
    # one line that names every registered dataset
    with pytest.raises(
        UnknownNameError,
        match=r"^unknown dataset 'imagenet'; known: cifar10, "
        r"cifar100, digits, fashion-mnist, image-folder, mnist, mnist1d$",
    ):
        load_dataset("imagenet")
    with pytest.raises(ConfigError, match=r"no option 'size'.*'num_samples'"):
        load_dataset("mnist1d", size=10)
    with pytest.raises(ConfigError, match="test_fraction"):
        load_dataset("digits", test_fraction=2.0)
    with pytest.raises(ConfigError, match="num_classes"):
        ArrayDataset(np.zeros((2, 1, 3)), np.array([0, 4]), np.zeros((1, 1, 3)), [0], num_classes=3)


def test_uint8_user_arrays_keep_the_fingerprint_they_had_as_float32() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(20, 1, 8), dtype=np.uint8)
    y = np.arange(20) % 2
    as_bytes = ArrayDataset(x[:15], y[:15], x[15:], y[15:])
    floats = x.astype(np.float32)
    as_floats = ArrayDataset(floats[:15], y[:15], floats[15:], y[15:])
    assert as_bytes.x_train.dtype == np.uint8
    assert as_bytes.sha256() == as_floats.sha256()
