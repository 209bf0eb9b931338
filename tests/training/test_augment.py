"""Image data in the toolkit: uint8 normalised when placed, augmentation of training batches
on the device, seeded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nasforge.data import ArrayDataset, Augmentation
from nasforge.space import Task
from nasforge.training import TrainRecipe, augmentation, place_data, prepare_data, train_model

CPU = torch.device("cpu")


def images(n: int = 40, seed: int = 0) -> ArrayDataset:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 3, 8, 8), dtype=np.uint8)
    y = np.arange(n) % 4
    return ArrayDataset(x, y, x[:8], y[:8], mean=(100.0, 120.0, 140.0), std=(50.0, 60.0, 70.0),
                        augment=Augmentation(padding=2, flip=True))  # fmt: skip


def test_crop_shifts_each_image_and_pads_with_the_fill() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    crop = augmentation(Augmentation(padding=1, flip=False), fill=torch.tensor([-9.0]))
    out = crop(x, torch.Generator().manual_seed(3))
    assert out.shape == x.shape
    for i in range(2):  # each output is a window of the padded image
        padded = torch.nn.functional.pad(x[i : i + 1], (1, 1, 1, 1), value=-9.0)[0, 0]
        windows = [padded[r : r + 4, c : c + 4] for r in range(3) for c in range(3)]
        assert any(torch.equal(out[i, 0], w) for w in windows)
    shifted = augmentation(Augmentation(padding=3, flip=False), fill=torch.tensor([-9.0]))
    assert (shifted(x.repeat(8, 1, 1, 1), torch.Generator().manual_seed(0)) == -9.0).any()


def test_signals_are_shifted_along_their_length_only() -> None:
    x = torch.arange(1.0, 9.0).reshape(1, 1, 8).repeat(50, 2, 1)  # (n, channels, length)
    shift = augmentation(Augmentation(padding=2, flip=False))
    out = shift(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(out[:, 0], out[:, 1])  # channels move together
    padded = torch.nn.functional.pad(x[0, 0], (2, 2))
    windows = [padded[start : start + 8] for start in range(5)]
    seen = {next(k for k, w in enumerate(windows) if torch.equal(row, w)) for row in out[:, 0]}
    assert seen == set(range(5))  # every shift from -2 to 2 occurs, nothing else


def test_flip_mirrors_about_half_of_the_images() -> None:
    x = torch.arange(4.0).reshape(1, 1, 1, 4).repeat(200, 1, 1, 1)
    out = augmentation(Augmentation(padding=0, flip=True))(x, torch.Generator().manual_seed(0))
    flipped = (out[:, 0, 0, 0] == 3).sum().item()
    assert 70 < flipped < 130 and ((out[:, 0, 0, 0] == 0) | (out[:, 0, 0, 0] == 3)).all()


def test_augmentation_is_the_same_for_the_same_seed() -> None:
    x = torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    augment = augmentation(Augmentation())
    first = augment(x, torch.Generator().manual_seed(5))
    assert torch.equal(first, augment(x, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, augment(x, torch.Generator().manual_seed(6)))


def test_prepare_data_normalises_uint8_images_per_channel() -> None:
    data = images()
    prepared = prepare_data(data, CPU, val_fraction=0.2, data_seed=0)
    assert prepared.x_train.dtype == torch.float32 and prepared.x_test.dtype == torch.float32
    expected = data.float_inputs(data.x_test)
    assert torch.allclose(prepared.x_test, torch.as_tensor(expected))
    assert prepared.x_test[0, 1, 0, 0].item() == pytest.approx((data.x_test[0, 1, 0, 0] - 120) / 60)
    assert prepared.augment is not None
    assert prepare_data(dataclasses.replace(data, augment=None), CPU, 0.2, 0).augment is None


def test_only_training_batches_are_augmented() -> None:
    prepared = prepare_data(images(), CPU, val_fraction=0.2, data_seed=0)
    index = torch.arange(16)
    plain = prepared.batch(prepared.x_train, index)
    assert torch.equal(plain, prepared.x_train[:16])
    x, y = prepared.train_batch(index, torch.Generator().manual_seed(0))
    assert x.shape == plain.shape and not torch.equal(x, plain)
    assert torch.equal(y, prepared.y_train[:16])
    # the padding is what a black pixel becomes once normalised
    black = torch.tensor([-100 / 50, -120 / 60, -140 / 70])
    padded = x.permute(0, 2, 3, 1).reshape(-1, 3)
    assert (padded == black).all(dim=1).any()


def test_the_device_holds_float32_inputs_and_the_limit_counts_them() -> None:
    data = images()
    arrays = (data.x_train[:24], data.y_train[:24], data.x_train[24:32], data.y_train[24:32],
              data.x_test, data.y_test)  # fmt: skip
    as_float = sum(4 * a.size if i % 2 == 0 else a.nbytes for i, a in enumerate(arrays))
    order = torch.arange(24)
    task = Task((3, 8, 8), 4)
    assert not place_data(task, arrays, order, CPU, as_float).on_host
    assert place_data(task, arrays, order, CPU, as_float - 1).on_host


def test_training_with_augmentation_is_deterministic_per_seed() -> None:
    prepared = prepare_data(images(), CPU, val_fraction=0.2, data_seed=0)

    def run(seed: int) -> float:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
        return train_model(model, prepared, TrainRecipe(epochs=2, batch_size=8), seed).train_loss

    assert run(1) == run(1) and run(1) != run(2)
