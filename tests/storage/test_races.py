"""Processes that start at the same moment: creating one new SQLite file, one experiment, or
driving one experiment (issue 13). A barrier lines them up; whatever the interleaving, each
ends either with what it asked for or with the one-line refusal a later process gets."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nasforge as nf
from nasforge.storage import Storage

FORK = multiprocessing.get_context("fork")


def _child(target: Callable[..., Any], barrier: Any, results: Any, args: tuple[Any, ...]) -> None:
    try:
        barrier.wait()
        results.put(("ok", target(*args)))
    except BaseException as exc:  # everything is reported; nothing may hang the parent
        results.put((type(exc).__name__, str(exc)))


def at_once(target: Callable[..., Any], *calls: tuple[Any, ...]) -> list[tuple[str, Any]]:
    """Run ``target(*args)`` for each ``args`` in its own process, all let go at once; returns
    ``("ok", result)`` or ``(exception type, message)`` of each, in the order they ended."""
    barrier, results = FORK.Barrier(len(calls)), FORK.Queue()
    processes = [FORK.Process(target=_child, args=(target, barrier, results, a)) for a in calls]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return outcomes


def _open_and_create(path: Path, seed: int) -> int:
    store = Storage(path)
    return store.create_experiment("e", seed, {"v": "max"}, {"space": "s"}).id


def test_processes_creating_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    for attempt in range(3):
        path = tmp_path / f"new-{attempt}.db"
        outcomes = at_once(_open_and_create, *[(path, 0)] * 6)
        assert outcomes == [("ok", 1)] * 6
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone() == (1,)
            assert conn.execute("SELECT value FROM nasforge_meta").fetchall() == [("2",)]
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


def test_one_experiment_created_at_once_with_other_settings_is_made_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    Storage(path).close()
    outcomes = at_once(_open_and_create, (path, 1), (path, 2), (path, 3))
    made = [result for kind, result in outcomes if kind == "ok"]
    refused = [result for kind, result in outcomes if kind != "ok"]
    assert made == [1] and len(refused) == 2
    assert all(
        "experiment 'e' already exists in" in text and ", started with seed=" in text
        for text in refused
    ), refused


def _convs(arch: nf.Arch) -> dict[str, float]:
    time.sleep(0.02)  # long enough for two drivers to overlap
    return {"convs": float(arch.key.count("conv"))}


def _experiment(path: Path, seed: int = 0) -> nf.Experiment:
    return nf.Experiment(
        nf.CellSpace(3, ["skip_connect", "conv", "none"]),
        strategy="random",
        evaluator=_convs,
        objectives={"convs": "max"},
        storage=path,
        name="e",
        seed=seed,
    )


def _record_id(path: Path, seed: int) -> int:
    return _experiment(path, seed).record.id


def test_experiments_created_at_once_resume_one_or_refuse_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    assert at_once(_record_id, *[(path, 0)] * 3) == [("ok", 1)] * 3
    other = tmp_path / "other.db"
    outcomes = sorted(at_once(_record_id, (other, 0), (other, 5)))
    assert outcomes[1] == ("ok", 1)
    kind, text = outcomes[0]
    assert kind == "StorageError" and "started with seed=" in text, outcomes


def _drive(path: Path) -> int:
    return len(_experiment(path).run(max_trials=8, progress=False))


@pytest.mark.parametrize("drivers", [2, 3])
def test_drivers_started_at_once_run_or_get_the_one_line_refusal(
    tmp_path: Path, drivers: int
) -> None:
    path = tmp_path / "runs.db"
    _experiment(path).run(max_trials=2, progress=False)  # a search to resume
    outcomes = at_once(_drive, *[(path,)] * drivers)
    for kind, result in outcomes:
        if kind != "ok":
            assert kind == "StorageError", outcomes
            assert result.startswith("experiment 'e' is being run by "), outcomes
            assert "\n" not in result
    assert any(kind == "ok" for kind, _ in outcomes)
    trials = Storage(path, read_only=True).trials(1)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert not [t for t in trials if t.status == nf.TrialStatus.RUNNING]
