"""Readers of the standard image-dataset formats, without torchvision.

- CIFAR-10/100 "python version": pickled batches (``data`` of ``n x 3072`` bytes, channels
  first, and ``labels``, or ``fine_labels``/``coarse_labels`` for CIFAR-100), read from the
  extracted folder or straight from the ``.tar.gz`` archive;
- IDX files (MNIST, Fashion-MNIST), gzipped or not;
- a folder of images with one sub-folder per class, decoded with Pillow.

Every reader returns ``uint8`` arrays and raises :class:`~nasforge.errors.ConfigError` naming
the file that does not hold what its format says.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import ConfigError

#: file endings :func:`read_image_folder` reads as images
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")

_IDX_TYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def read_cifar_batches(
    source: Path, names: Sequence[str], label_key: str
) -> tuple[np.ndarray, np.ndarray]:
    """The images ``(n, 3, 32, 32)`` (uint8) and labels of the CIFAR batches ``names``, read
    from the folder ``source`` or from the ``.tar.gz`` archive ``source`` (whose members sit
    in one top folder, as published)."""
    parts = []
    if source.is_dir():
        for name in names:
            with open(source / name, "rb") as stream:
                parts.append(_cifar_batch(stream, source / name, label_key))
    else:
        with tarfile.open(source, "r:gz") as archive:
            members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
            for name in names:
                member = archive.extractfile(members[name]) if name in members else None
                if member is None:
                    raise ConfigError(f"{source} holds no {name}; allowed: the published archive")
                parts.append(_cifar_batch(member, source / name, label_key))
    x = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32)
    return x, np.concatenate([p[1] for p in parts])


def _cifar_batch(stream: Any, where: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _NumpyUnpickler(stream, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key.encode()], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise ConfigError(
            f"{where} is no CIFAR batch ({type(exc).__name__}: {exc}); allowed: a pickled dict "
            f"with 'data' and {label_key!r}"
        ) from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ConfigError(
            f"{where} has data of shape {data.shape} and {len(labels)} labels; allowed: "
            "(n, 3072) and n labels"
        )
    return data, labels


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays only: a batch file from elsewhere cannot
    run code."""

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # bytes, as Python 3 writes them in protocol 2
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def read_idx(path: Path) -> np.ndarray:
    """The array of an IDX file (gzipped when it starts with the gzip magic bytes).

    Example:
        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
        >>> _ = file.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9]))
        >>> read_idx(file)
        array([7, 1, 9], dtype=uint8)
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ConfigError(f"{path}: broken gzip ({exc}); allowed: an IDX file") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES:
        raise ConfigError(f"{path} is no IDX file (bad header); allowed: an IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = dtype.itemsize * int(np.prod(shape))
    if len(shape) != ndim or len(raw) - header != expected:
        raise ConfigError(
            f"{path} holds {len(raw) - header} bytes of data for shape {shape}; allowed: "
            f"{expected} (a whole IDX file)"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def read_image_folder(
    folder: Path, size: tuple[int, int] | None, grayscale: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The images ``(n, channels, height, width)`` (uint8), labels and class names of a folder
    with one sub-folder of images per class (classes sorted by name).

    Images become RGB (or one channel, ``grayscale``) and are resized to ``size`` (height,
    width) when given; without it all images must share one size.
    """
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError(
            "image-folder needs Pillow; allowed: install it (pip install 'nasforge[images]')"
        ) from None
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ConfigError(
            f"path={str(folder)!r} has no class sub-folders; allowed: a folder with one "
            "sub-folder of images per class"
        )
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (folder / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        for file in files:
            try:
                with Image.open(file) as image:
                    image = image.convert("L" if grayscale else "RGB")
                    if size is not None and image.size != (size[1], size[0]):
                        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                    pixels = np.asarray(image, dtype=np.uint8)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{file} cannot be read as an image ({exc})") from None
            images.append(pixels[None] if grayscale else pixels.transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise ConfigError(
            f"path={str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)}) in its class "
            "sub-folders"
        )
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ConfigError(
            f"images in {folder} differ in size ({', '.join(map(str, sorted(shapes)[:3]))}, ...); "
            "allowed: option size: [height, width] to resize them"
        )
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes


__all__ = ["IMAGE_SUFFIXES", "read_cifar_batches", "read_idx", "read_image_folder"]
