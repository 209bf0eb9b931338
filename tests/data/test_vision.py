from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from nasforge.data import (
    ArrayDataset,
    Augmentation,
    data_root,
    dataset_spec,
    load_cifar10,
    load_cifar100,
    load_dataset,
    load_fashion_mnist,
    load_image_folder,
    load_mnist,
)
from nasforge.data import download as download_module
from nasforge.data.formats import read_cifar_batches, read_idx
from nasforge.data.vision import STATS, stratified_subset
from nasforge.errors import ConfigError
from nasforge.space import Task
from tests.data.conftest import (
    cifar_images,
    idx_bytes,
    write_cifar10,
    write_cifar100,
    write_image_folder,
    write_mnist,
)


@pytest.mark.parametrize("archive", [False, True], ids=["folder", "archive"])
def test_cifar10_reads_the_python_batches(data_home: Path, archive: bool) -> None:
    write_cifar10(data_home, archive=archive)
    data = load_cifar10()
    assert data.task == Task(input_shape=(3, 32, 32), num_classes=10)
    assert data.x_train.dtype == np.uint8 and data.x_train.shape == (60, 3, 32, 32)
    assert data.x_test.shape == (10, 3, 32, 32)
    rows, labels = cifar_images(12, seed=1)  # data_batch_1: channels first, 32 rows of 32
    assert np.array_equal(data.x_train[:12].reshape(12, -1), rows)
    assert np.array_equal(data.y_train[:12], labels)
    assert data.mean == pytest.approx(tuple(255 * m for m in STATS["cifar10"][0]))
    assert data.augment == Augmentation(padding=4, flip=True)
    assert load_cifar10(augment=False).augment is None


def test_cifar100_fine_and_coarse_labels(data_home: Path) -> None:
    write_cifar100(data_home, archive=True)
    fine, coarse = load_cifar100(), load_cifar100(labels="coarse")
    assert fine.num_classes == 100 and coarse.num_classes == 20
    assert np.array_equal(coarse.y_train, fine.y_train // 5)
    with pytest.raises(ConfigError, match=r"labels='medium'; allowed: 'fine' or 'coarse'"):
        load_cifar100(labels="medium")


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
def test_mnist_and_fashion_mnist_read_idx_files(
    tmp_path: Path, offline: list[str], gz: bool
) -> None:
    write_mnist(tmp_path / "mnist", gz=gz)
    write_mnist(tmp_path / "fashion-mnist", gz=gz)
    data = load_mnist(root=tmp_path)
    assert data.task == Task(input_shape=(1, 28, 28), num_classes=10)
    assert data.x_train.shape == (30, 1, 28, 28) and data.x_test.shape == (20, 1, 28, 28)
    assert data.augment is None and load_mnist(root=tmp_path, augment=True).augment == (
        Augmentation(padding=2, flip=False)
    )
    fashion = load_fashion_mnist(root=tmp_path)
    assert fashion.name == "fashion-mnist" and fashion.std == pytest.approx((255 * 0.3530,))
    assert offline == []  # nothing was fetched


def test_idx_files_that_are_not_whole_say_so(tmp_path: Path) -> None:
    file = tmp_path / "labels"
    file.write_bytes(idx_bytes(np.arange(5, dtype=np.uint8))[:-1])
    with pytest.raises(ConfigError, match="holds 4 bytes of data for shape \\(5,\\)"):
        read_idx(file)
    file.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ConfigError, match="is no IDX file"):
        read_idx(file)


def test_cifar_batches_refuse_pickled_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (print, ("pwned",))

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}))
    with pytest.raises(ConfigError, match=r"is no CIFAR batch.*refused to load builtins\.print"):
        read_cifar_batches(tmp_path, ["data_batch_1"], "labels")


def test_image_folder_splits_resizes_and_normalises(tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "images", classes=3, per_class=5, size=(12, 10))
    data = load_image_folder(path=folder, test_fraction=0.2, seed=0)
    assert data.task == Task(input_shape=(3, 12, 10), num_classes=3)
    assert np.bincount(data.y_test).tolist() == [1, 1, 1]  # stratified
    assert data.x_train[data.y_train == 0][:, 0].min() == 255  # class 0 is all red
    normalised = data.float_inputs(data.x_train)
    assert np.allclose(normalised.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    small = load_image_folder(path=folder, size=8, grayscale=True, augment=True)
    assert small.task.input_shape == (1, 8, 8) and small.augment == Augmentation(1, True)
    assert load_image_folder(path=folder, size=[6, 4]).task.input_shape == (3, 6, 4)


def test_image_folder_with_train_and_test_folders(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "set" / "train", per_class=4)
    write_image_folder(tmp_path / "set" / "test", per_class=2)
    data = load_dataset({"name": "image-folder", "options": {"path": str(tmp_path / "set")}})
    assert (len(data.y_train), len(data.y_test)) == (12, 6)


def test_image_folder_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="option path is missing"):
        load_image_folder()
    with pytest.raises(ConfigError, match="is no folder"):
        load_image_folder(path=tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="no class sub-folders"):
        load_image_folder(path=tmp_path)
    write_image_folder(tmp_path / "mixed", classes=1, size=(8, 8))
    write_image_folder(tmp_path / "more", classes=1, size=(9, 9))
    (tmp_path / "more" / "class_0").rename(tmp_path / "mixed" / "class_1")
    with pytest.raises(ConfigError, match=r"differ in size.*allowed: option size"):
        load_image_folder(path=tmp_path / "mixed")
    with pytest.raises(ConfigError, match=r"size=0; allowed: a positive integer"):
        load_image_folder(path=tmp_path / "mixed", size=0)


@pytest.mark.parametrize(
    ("name", "files"),
    [
        ("cifar10", "cifar-10-python.tar.gz (or its extracted cifar-10-batches-py/)"),
        ("cifar100", "cifar-100-python.tar.gz (or its extracted cifar-100-python/)"),
        ("mnist", "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                  "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"),
        ("fashion-mnist", "train-images-idx3-ubyte[.gz]"),
    ],
)  # fmt: skip
def test_offline_says_which_folder_to_fill_in_one_line(
    data_home: Path, offline: list[str], name: str, files: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_dataset(name)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"dataset {name!r}: cannot download http")
    assert f"put {files}" in message and f"in {data_home / name} by hand" in message
    assert "Temporary failure in name resolution" in message and "$NASFORGE_DATA" in message
    assert len(offline) == 1 and not any(data_home.rglob("*.part"))


class _Response(io.BytesIO):
    headers: ClassVar[dict[str, str]] = {}

    def __enter__(self) -> _Response:
        return self


def test_download_checks_the_md5_and_writes_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"the archive's bytes" * 1000
    monkeypatch.setattr(download_module.urllib.request, "urlopen",
                        lambda url, timeout: _Response(payload))  # fmt: skip
    good = download_module.RemoteFile("a.tar.gz", "https://x/a.tar.gz",
                                      hashlib.md5(payload).hexdigest())  # fmt: skip
    download_module.ensure_files("demo", tmp_path / "demo", [good])
    assert (tmp_path / "demo" / "a.tar.gz").read_bytes() == payload
    bad = download_module.RemoteFile("b.tar.gz", "https://x/b.tar.gz", "0" * 32)
    with pytest.raises(ConfigError, match=r"cannot download https://x/b.tar.gz \(MD5 "):
        download_module.ensure_files("demo", tmp_path / "demo", [bad])
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["a.tar.gz"]  # no leftovers


def test_cache_folder_comes_from_root_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NASFORGE_DATA", raising=False)
    assert data_root() == Path.home() / ".cache" / "nasforge" / "data"
    monkeypatch.setenv("NASFORGE_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env" and data_root(tmp_path) == tmp_path
    with pytest.raises(ConfigError, match="root=3; allowed: a folder path"):
        data_root(3)  # type: ignore[arg-type]


def test_max_samples_is_stratified_seeded_and_cuts_the_test_set_in_proportion(
    data_home: Path,
) -> None:
    write_cifar10(data_home, per_batch=40, test=40)  # 200 train, 40 test
    subset = load_cifar10(max_samples=50, seed=1)
    assert len(subset.y_train) == 50 and len(subset.y_test) == 10
    assert np.bincount(subset.y_train).tolist() == [5] * 10
    again, other = load_cifar10(max_samples=50, seed=1), load_cifar10(max_samples=50, seed=2)
    assert np.array_equal(subset.x_train, again.x_train)
    assert not np.array_equal(subset.x_train, other.x_train)
    with pytest.raises(ConfigError, match=r"cifar10: max_samples=5; allowed: an integer >= 10"):
        load_cifar10(max_samples=5)


def test_stratified_subset_keeps_each_class_share() -> None:
    labels = np.repeat(np.arange(3), [50, 30, 20])
    picked = stratified_subset(labels, 11, np.random.default_rng(0))
    assert len(picked) == 11 and len(set(picked.tolist())) == 11
    assert np.bincount(labels[picked]).tolist() == [6, 3, 2]


def test_a_name_with_options_as_a_yaml_config_gives_it(data_home: Path) -> None:
    write_cifar10(data_home)
    spec = {"name": "cifar10", "options": {"max_samples": 20, "augment": False}}
    assert dataset_spec(spec) == ("cifar10", {"max_samples": 20, "augment": False})
    data = load_dataset(spec)
    assert len(data.y_train) == 20 and data.augment is None
    with pytest.raises(ConfigError, match="dataset 'cifar10' has no option 'size'"):
        dataset_spec({"name": "cifar10", "options": {"size": 3}})
    with pytest.raises(ConfigError, match=r"got key 'max_samples'; allowed: \{name: <'mnist1d'"):
        load_dataset({"name": "cifar10", "max_samples": 3})


def test_normalisation_and_augmentation_are_checked() -> None:
    x, y = np.zeros((4, 3, 4, 4), dtype=np.uint8), np.arange(4) % 2
    data = ArrayDataset(x, y, x, y, mean=(1.0, 2.0, 3.0), std=2.0)
    assert data.std == (2.0, 2.0, 2.0)
    assert data.float_inputs(x)[0, :, 0, 0].tolist() == [-0.5, -1.0, -1.5]
    with pytest.raises(ConfigError, match=r"mean=\(1\.0, 2\.0\); allowed: 3 finite numbers"):
        ArrayDataset(x, y, x, y, mean=(1.0, 2.0), std=1.0)
    with pytest.raises(ConfigError, match="one is given; allowed: both or neither"):
        ArrayDataset(x, y, x, y, mean=1.0)
    with pytest.raises(ConfigError, match="padding=-1; allowed: an integer >= 0"):
        Augmentation(padding=-1)
