"""Image datasets: CIFAR-10, CIFAR-100, MNIST, Fashion-MNIST and a folder of images.

Read from their standard files without torchvision: each torchvision wheel pins one exact
torch (torchvision 0.28 requires torch 2.13.0, 0.29 torch 2.14), so depending on it, even as
an extra, would either pin the user's torch or make pip pull a multi-gigabyte CUDA build.
The formats are simple (:mod:`nasforge.data.formats`); the files are downloaded on first use
into a cache folder (:mod:`nasforge.data.download`). A torchvision dataset object still works
through :func:`~nasforge.data.from_torch`.

Images stay ``uint8`` (CIFAR-10 takes 184 MB so, 737 MB as ``float32``); each dataset carries
the standard per-channel mean and standard deviation of its training images, applied by the
training toolkit when it prepares the data, and, when ``augment`` is on, the
:class:`~nasforge.data.Augmentation` of its training batches:

============== ========================== ========================== ======================
dataset        mean (of pixels in [0, 1]) std                        augment (default)
============== ========================== ========================== ======================
cifar10        0.4914, 0.4822, 0.4465     0.2470, 0.2435, 0.2616     crop pad 4 + flip (on)
cifar100       0.5071, 0.4865, 0.4409     0.2673, 0.2564, 0.2762     crop pad 4 + flip (on)
mnist          0.1307                     0.3081                     crop pad 2 (off)
fashion-mnist  0.2860                     0.3530                     crop pad 2 + flip (off)
image-folder   of its training images     of its training images     crop pad 1/8 + flip (off)
============== ========================== ========================== ======================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nasforge.data import download as _download
from nasforge.data.base import ArrayDataset, Augmentation
from nasforge.data.download import RemoteFile, data_root
from nasforge.data.formats import read_cifar_batches, read_idx, read_image_folder
from nasforge.errors import ConfigError

PathLike = str | os.PathLike[str]

_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # torchvision's mirror of LeCun's
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_MNIST_MD5 = (
    "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "d53e105ee54ea40749a09fcbcd1e9432",
    "9fb629c4189551a2d022fa330f9573f3",
    "ec29112dd5afa0611ce80d1b7f02629c",
)
_FASHION_MD5 = (
    "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "25c81989df183df01b3e8a0aad5dffbe",
    "bef4ecab320f06d8554ea6380940ec79",
    "bb300cfdad3c16e7a12a480ee83cd310",
)

#: the standard per-channel mean and std of each dataset's training pixels, in [0, 1]
STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
}


def load_cifar10(
    root: PathLike | None = None,
    max_samples: int | None = None,
    augment: bool = True,
    seed: int = 0,
) -> ArrayDataset:
    """CIFAR-10: 60,000 colour images of 32x32 pixels in 10 classes, shape (3, 32, 32),
    50,000 train / 10,000 test.

    Read from ``cifar10/`` in the cache folder: the extracted ``cifar-10-batches-py/``
    (``data_batch_1`` ... ``data_batch_5``, ``test_batch``) or the archive
    ``cifar-10-python.tar.gz``, downloaded there on first use.

    Args:
        root: the cache folder (``None``: ``$NASFORGE_DATA``, else ``~/.cache/nasforge/data``).
        max_samples: keep at most this many training images, the same share of every class
            (drawn with ``seed``); the test set is cut in the same proportion. ``None``: all.
        augment: random crop (padding 4) and horizontal flip of training batches.
        seed: seed of the ``max_samples`` subset.
    """
    batches = [f"data_batch_{i}" for i in range(1, 6)]
    return _cifar(
        "cifar10", root, max_samples, augment, seed, "cifar-10-batches-py",
        RemoteFile("cifar-10-python.tar.gz", _CIFAR10_URL, "c58f30108f718f92721af3b95e74349a"),
        batches, ["test_batch"], "labels",
    )  # fmt: skip


def load_cifar100(
    root: PathLike | None = None,
    max_samples: int | None = None,
    augment: bool = True,
    seed: int = 0,
    labels: str = "fine",
) -> ArrayDataset:
    """CIFAR-100: 60,000 colour images of 32x32 pixels, shape (3, 32, 32), in 100 classes
    (``labels="fine"``) or their 20 superclasses (``"coarse"``), 50,000 train / 10,000 test.

    Read from ``cifar100/`` in the cache folder: the extracted ``cifar-100-python/`` (``train``,
    ``test``) or the archive ``cifar-100-python.tar.gz``, downloaded there on first use. The
    other options are :func:`load_cifar10`'s.
    """
    if labels not in ("fine", "coarse"):
        raise ConfigError(f"cifar100: labels={labels!r}; allowed: 'fine' or 'coarse'")
    return _cifar(
        "cifar100", root, max_samples, augment, seed, "cifar-100-python",
        RemoteFile("cifar-100-python.tar.gz", _CIFAR100_URL, "eb9058c3a382ffc7106e4002c42a8d85"),
        ["train"], ["test"], f"{labels}_labels",
    )  # fmt: skip


def load_mnist(
    root: PathLike | None = None,
    max_samples: int | None = None,
    augment: bool = False,
    seed: int = 0,
) -> ArrayDataset:
    """MNIST: 70,000 handwritten digits of 28x28 pixels, shape (1, 28, 28), 10 classes,
    60,000 train / 10,000 test.

    Read from ``mnist/`` in the cache folder: the four IDX files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``
    (gzipped, ``.gz``, or not), downloaded there on first use. ``augment``: a random shift of
    up to 2 pixels (no flip: a flipped digit is another shape). The other options are
    :func:`load_cifar10`'s.
    """
    return _idx("mnist", root, max_samples, augment, seed, _MNIST_URL, _MNIST_MD5, flip=False)


def load_fashion_mnist(
    root: PathLike | None = None,
    max_samples: int | None = None,
    augment: bool = False,
    seed: int = 0,
) -> ArrayDataset:
    """Fashion-MNIST: 70,000 images of clothes of 28x28 pixels, shape (1, 28, 28), 10 classes,
    60,000 train / 10,000 test, in MNIST's IDX files (see :func:`load_mnist`) under
    ``fashion-mnist/`` in the cache folder. ``augment``: a random shift of up to 2 pixels and
    a horizontal flip."""
    return _idx(
        "fashion-mnist", root, max_samples, augment, seed, _FASHION_URL, _FASHION_MD5, flip=True
    )


def load_image_folder(
    path: PathLike | None = None,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    test_fraction: float = 0.2,
    max_samples: int | None = None,
    augment: bool = False,
    seed: int = 0,
) -> ArrayDataset:
    """Your own images: a folder with one sub-folder of images per class (the layout of
    torchvision's ``ImageFolder``), classes in the order of their names.

    With ``train/`` and ``test/`` sub-folders (each with the class sub-folders), those are the
    splits; otherwise a stratified ``test_fraction`` of the images (drawn with ``seed``) is the
    test set. Decoded with Pillow (``pip install 'nasforge[images]'``) as RGB, or one channel
    with ``grayscale``; normalised with the per-channel mean and std of the training images.

    Args:
        path: the folder (required).
        size: resize every image to ``size`` x ``size`` or ``[height, width]`` pixels;
            ``None``: the images must share one size.
        grayscale: one channel instead of three.
        test_fraction: share of the images held out as the test set, without ``test/``.
        max_samples: as for :func:`load_cifar10`.
        augment: random crop (padding 1/8 of the width) and horizontal flip of training batches.
        seed: seed of the test split and of the ``max_samples`` subset.
    """
    _check_common("image-folder", max_samples, augment, seed)
    if path is None:
        raise ConfigError("image-folder: option path is missing; allowed: a folder of images")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"image-folder: path={str(path)!r} is no folder; allowed: a folder")
    shape = _size(size)
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        x_train, y_train, classes = read_image_folder(folder / "train", shape, grayscale)
        x_test, y_test, test_classes = read_image_folder(folder / "test", shape, grayscale)
        if test_classes != classes:
            raise ConfigError(
                f"{folder / 'test'} has classes {test_classes}; allowed: those of train/, {classes}"
            )
    else:
        if isinstance(test_fraction, bool) or not 0.0 < test_fraction < 1.0:
            raise ConfigError(
                f"image-folder: test_fraction={test_fraction!r}; allowed: a number between 0 and 1"
            )
        x, y, classes = read_image_folder(folder, shape, grayscale)
        held = round(test_fraction * len(y))
        if not 0 < held < len(y):
            raise ConfigError(
                f"image-folder: test_fraction={test_fraction} of {len(y)} images leaves an "
                "empty split; allowed: more images or another fraction"
            )
        test = stratified_subset(y, held, np.random.default_rng(seed))
        train = np.setdiff1d(np.arange(len(y)), test)
        x_train, y_train, x_test, y_test = x[train], y[train], x[test], y[test]
    x_train, y_train, x_test, y_test = _subsample(
        "image-folder", max_samples, seed, x_train, y_train, x_test, y_test
    )
    mean = x_train.mean(axis=(0, 2, 3), dtype=np.float64)
    std = np.maximum(x_train.std(axis=(0, 2, 3), dtype=np.float64), 1e-3)
    crop = Augmentation(padding=max(1, x_train.shape[-1] // 8), flip=True)
    return ArrayDataset(
        x_train, y_train, x_test, y_test, name="image-folder", num_classes=len(classes),
        mean=tuple(mean), std=tuple(std), augment=crop if augment else None,
    )  # fmt: skip


def _cifar(
    name: str,
    root: PathLike | None,
    max_samples: int | None,
    augment: bool,
    seed: int,
    extracted: str,
    archive: RemoteFile,
    train: list[str],
    test: list[str],
    label_key: str,
) -> ArrayDataset:
    _check_common(name, max_samples, augment, seed)
    folder = data_root(root) / name
    source = folder / extracted
    if not all((source / part).is_file() for part in train + test):
        expected = [f"{archive.name} (or its extracted {extracted}/)"]
        _download.ensure_files(name, folder, [archive], expected=expected)
        source = folder / archive.name
    x_train, y_train = read_cifar_batches(source, train, label_key)
    x_test, y_test = read_cifar_batches(source, test, label_key)
    classes = 20 if label_key == "coarse_labels" else 100 if name == "cifar100" else 10
    return _dataset(
        name, classes, max_samples, augment, seed, 4, True, x_train, y_train, x_test, y_test
    )


def _idx(
    name: str,
    root: PathLike | None,
    max_samples: int | None,
    augment: bool,
    seed: int,
    url: str,
    md5: Sequence[str],
    flip: bool,
) -> ArrayDataset:
    _check_common(name, max_samples, augment, seed)
    folder = data_root(root) / name
    # an uncompressed file (as torchvision leaves them) serves as well as the published .gz
    paths = [folder / (n if (folder / n).is_file() else f"{n}.gz") for n in _IDX_NAMES]
    remote = [
        RemoteFile(p.name, f"{url}{p.name}", m)
        for p, m in zip(paths, md5, strict=True)
        if p.suffix == ".gz"
    ]
    _download.ensure_files(name, folder, remote, expected=[f"{n}[.gz]" for n in _IDX_NAMES])
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    for images, labels, path in ((x_train, y_train, paths[0]), (x_test, y_test, paths[2])):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ConfigError(
                f"{path} holds images of shape {images.shape} for {labels.shape} labels; "
                "allowed: (n, height, width) images and n labels"
            )
    x_train, x_test = x_train[:, None], x_test[:, None]
    return _dataset(name, 10, max_samples, augment, seed, 2, flip, x_train, y_train, x_test, y_test)


def _dataset(
    name: str,
    num_classes: int,
    max_samples: int | None,
    augment: bool,
    seed: int,
    padding: int,
    flip: bool,
    *arrays: np.ndarray,
) -> ArrayDataset:
    x_train, y_train, x_test, y_test = _subsample(name, max_samples, seed, *arrays)
    mean, std = STATS[name]
    return ArrayDataset(
        x_train, y_train, x_test, y_test, name=name, num_classes=num_classes,
        mean=tuple(255.0 * m for m in mean), std=tuple(255.0 * s for s in std),
        augment=Augmentation(padding, flip) if augment else None,
    )  # fmt: skip


def _subsample(
    name: str, max_samples: int | None, seed: int, *arrays: np.ndarray
) -> tuple[np.ndarray, ...]:
    """At most ``max_samples`` training samples, stratified; the test set in proportion."""
    x_train, y_train, x_test, y_test = arrays
    if max_samples is None or max_samples >= len(y_train):
        return x_train, y_train, x_test, y_test
    _check_int(name, "max_samples", max_samples, 10)
    rng = np.random.default_rng(seed)
    keep_test = max(1, round(len(y_test) * max_samples / len(y_train)))
    train = stratified_subset(y_train, max_samples, rng)
    test = stratified_subset(y_test, keep_test, rng)
    return x_train[train], y_train[train], x_test[test], y_test[test]


def stratified_subset(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``count`` of ``labels``, each class kept in its share (largest
    remainders get the rounding), drawn with ``rng``.

    Example:
        >>> labels = np.array([0] * 80 + [1] * 20)
        >>> picked = stratified_subset(labels, 10, np.random.default_rng(0))
        >>> np.bincount(labels[picked]).tolist()
        [8, 2]
    """
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * count / len(labels)
    quota = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quota), kind="stable")[: count - quota.sum()]:
        quota[i] += 1
    picked = [
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def _check_common(name: str, max_samples: int | None, augment: bool, seed: int) -> None:
    if max_samples is not None:
        _check_int(name, "max_samples", max_samples, 10)
    _flag(f"{name}: augment", augment)
    _check_int(name, "seed", seed, None)


def _flag(field: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{field}={value!r}; allowed: true or false")


def _check_int(name: str, field: str, value: object, low: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        allowed = "an integer" + (f" >= {low}" if low is not None else "")
        raise ConfigError(f"{name}: {field}={value!r}; allowed: {allowed}")


def _size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool) and size >= 1:
        return size, size
    if (
        isinstance(size, Sequence)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)
    ):
        return int(size[0]), int(size[1])
    raise ConfigError(
        f"image-folder: size={size!r}; allowed: a positive integer or [height, width]"
    )


__all__ = [
    "STATS",
    "load_cifar10",
    "load_cifar100",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "stratified_subset",
]
