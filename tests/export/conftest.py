"""Stores holding experiments whose trials have exactly the archs a test wants."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from nasforge.space import Space
from nasforge.storage import Storage
from nasforge.trial import TrialStatus

#: ``make_store(space, arch_keys, statuses=None, name="exp") -> Storage``
MakeStore = Callable[..., Storage]


@pytest.fixture
def make_store(tmp_path: Path) -> MakeStore:
    """A SQLite store with one experiment made "from Python" (no config) whose trial ``i`` has
    arch ``keys[i]``, status ``statuses[i]`` (default complete) and val_acc ``i``."""

    def make(
        space: Space,
        keys: Sequence[str],
        statuses: Sequence[TrialStatus] | None = None,
        name: str = "exp",
        config: dict[str, object] | None = None,
    ) -> Storage:
        store = Storage(tmp_path / "runs.db")
        record = store.create_experiment(
            name, 0, {"val_acc": "max"}, {"space": space.name, "config": config or {}}
        )
        for number, key in enumerate(keys):
            status = statuses[number] if statuses else TrialStatus.COMPLETE
            store.start_trial(record.id, number, space.parse(key), seed=100 + number)
            if status != TrialStatus.RUNNING:
                score = float(number) if status == TrialStatus.COMPLETE else None
                store.finish_trial(
                    record.id,
                    number,
                    status,
                    metrics={"val_acc": float(number)},
                    scores=[score] if score is not None else None,
                )
        return store

    return make


@pytest.fixture(scope="session")
def signals() -> tuple[np.ndarray, ...]:
    """A tiny 1-D classification set (3 classes told apart by where a bump sits)."""
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = rng.normal(0.0, 0.3, size=(90, 1, 24)).astype(np.float32)
    for i, label in enumerate(y):
        x[i, 0, 4 + 7 * label : 8 + 7 * label] += 2.0
    return x[:60], y[:60], x[60:], y[60:]
