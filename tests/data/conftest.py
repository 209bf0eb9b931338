"""Tiny files in each image format, written by the tests (nothing is ever downloaded), and a
downloader that fails as an offline machine's does."""

from __future__ import annotations

import gzip
import pickle
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def cifar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` CIFAR rows (``n x 3072`` bytes) and labels cycling through 10 classes."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), np.arange(n) % 10


def write_cifar10(folder: Path, per_batch: int = 12, test: int = 10, archive: bool = False) -> Path:
    """The CIFAR-10 python batches under ``folder/cifar10`` (or their ``.tar.gz``)."""
    batches: dict[str, Any] = {}
    for i in range(1, 6):
        data, labels = cifar_images(per_batch, seed=i)
        batches[f"data_batch_{i}"] = {b"data": data, b"labels": labels.tolist()}
    data, labels = cifar_images(test, seed=0)
    batches["test_batch"] = {b"data": data, b"labels": labels.tolist()}
    batches["batches.meta"] = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    return _write_batches(folder / "cifar10", "cifar-10-batches-py", "cifar-10-python.tar.gz",
                          batches, archive)  # fmt: skip


def write_cifar100(folder: Path, train: int = 200, test: int = 100, archive: bool = False) -> Path:
    """The CIFAR-100 python batches (``train``, ``test``) under ``folder/cifar100``."""
    batches: dict[str, Any] = {}
    for name, n, seed in (("train", train, 1), ("test", test, 2)):
        data, _ = cifar_images(n, seed)
        fine = np.arange(n) % 100
        batches[name] = {b"data": data, b"fine_labels": fine.tolist(),
                         b"coarse_labels": (fine // 5).tolist()}  # fmt: skip
    return _write_batches(folder / "cifar100", "cifar-100-python", "cifar-100-python.tar.gz",
                          batches, archive)  # fmt: skip


def _write_batches(
    folder: Path, extracted: str, archive_name: str, batches: dict[str, Any], archive: bool
) -> Path:
    source = folder / extracted
    source.mkdir(parents=True)
    for name, batch in batches.items():
        # protocol 2, as Python 2's cPickle wrote the published files
        (source / name).write_bytes(pickle.dumps(batch, protocol=2))
    if not archive:
        return source
    with tarfile.open(folder / archive_name, "w:gz") as tar:
        tar.add(source, arcname=extracted)
    for file in source.iterdir():
        file.unlink()
    source.rmdir()
    return folder / archive_name


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) as an IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, train: int = 30, test: int = 20, gz: bool = True) -> Path:
    """The four IDX files of MNIST (gzipped as published, or not) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(test) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        raw = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return folder


def write_image_folder(
    folder: Path, classes: int = 3, per_class: int = 5, size: tuple[int, int] = (12, 10)
) -> Path:
    """PNG images (``size`` = height, width; the colour encodes the class) in one sub-folder
    per class."""
    from PIL import Image

    rng = np.random.default_rng(4)
    for c in range(classes):
        (folder / f"class_{c}").mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            pixels[..., c % 3] = 255
            Image.fromarray(pixels).save(folder / f"class_{c}" / f"{i}.png")
    return folder


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No network: every download fails as it does offline; yields the addresses tried."""
    tried: list[str] = []

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        tried.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tried


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]) -> Path:
    """``$NASFORGE_DATA`` pointed at an empty folder, offline."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("NASFORGE_DATA", str(home))
    return home


@pytest.fixture
def all_offline_files(data_home: Path) -> dict[str, dict[str, Any]]:
    """Tiny files of every registered image dataset in ``$NASFORGE_DATA``; the options that
    load each."""
    write_cifar10(data_home)
    write_cifar100(data_home)
    write_mnist(data_home / "mnist")
    write_mnist(data_home / "fashion-mnist", gz=False)
    images = write_image_folder(data_home / "my-images")
    return {"image-folder": {"path": str(images)}}
