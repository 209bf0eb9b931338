"""Stores to test with (``filled``: a closed SQLite file with one experiment; ``fill`` makes
another) and ``snapshot``, what a SQLite file is like on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from nasforge.space import Arch
from nasforge.storage import Storage
from nasforge.trial import TrialStatus


def _fill(path: Path, trials: int = 4, name: str = "e") -> Path:
    """A store at ``path`` holding experiment ``name`` (objective ``v``, maximised) with
    ``trials`` complete trials (``v`` = number + 1), closed again."""
    store = Storage(path)
    record = store.create_experiment(name, 0, {"v": "max"}, {"space": "test"})
    for number in range(trials):
        store.start_trial(record.id, number, Arch({"x": number}), seed=number, worker="h:1")
        store.report(record.id, number, 1, {"v": number / 2})
        value = float(number + 1)
        store.finish_trial(record.id, number, TrialStatus.COMPLETE, {"v": value}, [value])
    store.engine.dispose()
    return path


def _snapshot(path: Path) -> tuple[str, int, list[str]]:
    """What a SQLite file is like: its bytes' hash, its mtime and the files beside it
    (``-wal``, ``-shm``, ``-journal``)."""
    data = path.read_bytes()
    beside = sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))
    return hashlib.sha256(data).hexdigest(), path.stat().st_mtime_ns, beside


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A closed SQLite store with experiment ``e`` and 4 complete trials."""
    return _fill(tmp_path / "runs.db")


@pytest.fixture
def fill() -> Callable[..., Path]:
    """``fill(path, trials=4, name="e")``: a closed store with one experiment."""
    return _fill


@pytest.fixture
def snapshot() -> Callable[[Path], tuple[str, int, list[str]]]:
    """``snapshot(path)``: a SQLite file's hash, mtime and the files beside it."""
    return _snapshot
