"""Executors: choice and checks, parallel search with a scheduler, the YAML/CLI keys, the
reproducibility record and the schema upgrade path."""

from __future__ import annotations

import sqlite3

import pytest
import yaml
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli import app
from nasforge.errors import ConfigError, StorageError
from nasforge.execution import create_executor
from nasforge.execution.base import check_devices, split_threads
from nasforge.storage import SCHEMA_VERSION, Storage
from nasforge.testing.faults import FaultyEvaluator
from nasforge.trial import TrialStatus

SPACE = nf.CellSpace(4, ["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])


def quick_experiment(storage):
    """A random search of the quick fault-free evaluator in ``storage`` (a URL or a Storage)."""
    return nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=FaultyEvaluator(),
        objectives={"val_acc": "max"},
        storage=storage,
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "threads"}, "executor: unknown executor 'threads'; use 'local', 'processes'"),
        ({"name": "local", "workers": 3}, "workers=3 needs executor 'processes' or 'ray'"),
        ({"name": "processes", "workers": 0}, "workers must be an integer >= 1, got 0"),
        ({"name": "processes", "devices": "gpu:0"}, "devices: 'gpu:0' is not a device"),
        ({"name": "ray", "devices": "cuda:0"}, "devices applies to executor 'processes'"),
    ],
)
def test_bad_execution_settings_are_one_line_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        create_executor(**kwargs)


def test_devices_round_robin_and_threads_split():
    assert check_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    executor = create_executor("processes", 3, devices=["cuda:0", "cuda:1"])
    assert [executor._device(i) for i in range(3)] == ["cuda:0", "cuda:1", "cuda:0"]
    assert split_threads(4, cpus=16) == 4 and split_threads(4, cpus=2) == 1


def test_ray_address_needs_the_ray_executor(tmp_path):
    exp = quick_experiment(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(ConfigError, match="ray_address needs executor 'ray'"):
        exp.run(max_trials=2, progress=False, executor="processes", ray_address="1.2.3.4:6379")


def test_parallel_search_with_asha_prunes_and_tells_the_strategy(tmp_path):
    exp = nf.Experiment(
        SPACE,
        strategy="regularized-evolution",
        evaluator=FaultyEvaluator(delay=0.1, steps=9),
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 's.db'}",
        scheduler="asha",
        scheduler_options={"max_step": 9, "min_step": 1},
    )
    exp.run(max_trials=16, progress=False, executor="processes", workers=3)
    trials = exp.trials()
    assert len(trials) == 16
    pruned = [t for t in trials if t.status == TrialStatus.PRUNED]
    complete = [t for t in trials if t.status == TrialStatus.COMPLETE]
    assert pruned and complete
    for t in pruned:  # stopped at a rung with its partial curve, which it reports as metrics
        assert max(t.intermediate) < 9
        assert t.metrics == t.intermediate[max(t.intermediate)]
    for t in complete:
        assert sorted(t.intermediate) == list(range(1, 10))
    told = [t for t in exp.strategy_.history_ if t.status == TrialStatus.PRUNED]
    assert len(told) == len(pruned)


def test_yaml_execution_block_and_cli_workers(tmp_path):
    config = {
        "name": "par",
        "storage": f"sqlite:///{tmp_path / 's.db'}",
        "space": {"name": "nb201", "options": {"n_cells": 1, "channels": 4}},
        "strategy": "random",
        "evaluator": {"name": "tabular"},
        "objectives": {"val_acc": "max"},
        "budget": {"max_trials": 6},
        "execution": {"executor": "processes", "workers": 2, "ordered": True},
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    trials = nf.load_experiment("par", config["storage"]).trials()
    assert len(trials) == 6 and all(t.worker and "/w" in t.worker for t in trials)
    by_tell = sorted(trials, key=lambda t: t.tell_seq or 0)
    assert [t.number for t in by_tell] == sorted(t.number for t in trials)  # told as asked
    result = CliRunner().invoke(
        app,
        [
            "search",
            str(path),
            "--quiet",
            "--max-trials",
            "9",
            "--workers",
            "1",
            "--executor",
            "local",
        ],
    )
    assert result.exit_code == 0, result.output
    trials = nf.load_experiment("par", config["storage"]).trials()
    assert len(trials) == 9 and "/w" not in trials[-1].worker  # resumed in-process
    result = CliRunner().invoke(app, ["search", str(path), "--executor", "threads"])
    assert result.exit_code == 2 and "--executor: unknown executor 'threads'" in result.output
    config["execution"] = {"workers": 0}
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path)])
    assert result.exit_code == 2 and "execution.workers" in result.output
    config["execution"] = {"ordered": "maybe"}
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path)])
    assert result.exit_code == 2 and "execution.ordered" in result.output
    config["execution"] = {"heartbeat_s": 0}
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path)])
    assert result.exit_code == 2 and "execution.heartbeat_s" in result.output
    config["execution"] = {"heartbeat_s": 5, "stale_after": 3}
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path)])
    assert (
        result.exit_code == 2
        and "stale_after=3.0 must be larger than heartbeat_s=5.0" in result.output
    )
    config["execution"] = {"heartbeat_s": 0.5, "stale_after": 60}
    config["budget"] = {"max_trials": 10}
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["search", str(path), "--quiet", "--ordered"])
    assert result.exit_code == 0, result.output
    assert len(nf.load_experiment("par", config["storage"]).trials()) == 10


def test_record_holds_versions_and_a_hash_of_the_data(tmp_path):
    from nasforge.estimation import create_evaluator

    small = create_evaluator("train", dataset="digits", epochs=1)
    exp = nf.Experiment(
        "nb201",
        strategy="random",
        evaluator=small,
        space_options={"n_cells": 1, "channels": 4},
        storage=f"sqlite:///{tmp_path / 's.db'}",
        config={"note": "x"},
    )
    versions = exp.record.versions
    assert {"python", "nasforge", "torch", "numpy"} <= set(versions)
    assert versions["data"] == "digits" and len(versions["data_sha256"]) == 64
    again = nf.Experiment(
        "nb201",
        strategy="random",
        evaluator=create_evaluator("train", dataset="digits"),
        space_options={"n_cells": 1, "channels": 4},
        storage=f"sqlite:///{tmp_path / 'other.db'}",
    )
    assert again.record.versions["data_sha256"] == versions["data_sha256"]  # same data, same hash
    assert exp.record.spec["config"] == {"note": "x"} and exp.record.seed == 0


def _make_v1_store(path):
    """A store as nasforge with schema version 1 wrote it (no heartbeats, no artifacts)."""
    store = Storage(f"sqlite:///{path}")
    exp = quick_experiment(store)
    exp.run(max_trials=3, progress=False)
    store.engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE trials DROP COLUMN heartbeat_at")
        conn.execute("DROP TABLE artifacts")
        conn.execute("UPDATE nasforge_meta SET value = '1' WHERE key = 'schema_version'")


def test_an_old_store_is_refused_with_the_upgrade_command_then_upgraded(tmp_path):
    path = tmp_path / "old.db"
    _make_v1_store(path)
    with pytest.raises(StorageError, match="schema version 1, this nasforge uses 2; back it up"):
        Storage(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # refused before anything was written to it
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "artifacts" not in tables
    result = CliRunner().invoke(app, ["storage", "upgrade", "--storage", f"sqlite:///{path}"])
    assert result.exit_code == 0, result.output
    assert f"from schema version 1 to {SCHEMA_VERSION}" in result.output
    exp = quick_experiment(f"sqlite:///{path}")
    assert len(exp.trials()) == 3  # kept; and the search goes on with heartbeats
    exp.run(max_trials=5, progress=False)
    assert [t.status for t in exp.trials()] == [TrialStatus.COMPLETE] * 5
    result = CliRunner().invoke(app, ["storage", "upgrade", "--storage", f"sqlite:///{path}"])
    assert result.exit_code == 0 and "already at schema version" in result.output


def test_a_newer_store_is_refused(tmp_path):
    path = tmp_path / "new.db"
    Storage(f"sqlite:///{path}").engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE nasforge_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match="schema version 99, written by a newer nasforge"):
        Storage(f"sqlite:///{path}", upgrade=True)


def test_a_read_only_store_reads_and_refuses_writes(tmp_path):
    path = tmp_path / "ro.db"
    exp = quick_experiment(f"sqlite:///{path}")
    exp.run(max_trials=2, progress=False)
    before = path.stat().st_mtime_ns, (tmp_path / "ro.db-wal").stat().st_size
    store = Storage(f"sqlite:///{path}", read_only=True)
    assert [t.number for t in store.trials(exp.record.id)] == [0, 1]
    with pytest.raises(StorageError, match="opened read-only"):
        store.create_experiment("x", 0, {"val_acc": "max"}, {})
    assert (path.stat().st_mtime_ns, (tmp_path / "ro.db-wal").stat().st_size) == before
    with pytest.raises(StorageError, match="does not exist"):
        Storage(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)


def test_ray_refuses_gpus_the_cluster_does_not_have(ray_cluster, tmp_path):
    exp = quick_experiment(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(ConfigError, match=r"gpus_per_trial=0.5 but the Ray cluster at .* 0 GPUs"):
        exp.run(
            max_trials=2,
            progress=False,
            executor="ray",
            ray_address=ray_cluster,
            gpus_per_trial=0.5,
        )
    assert exp.trials() == []  # nothing started
    exp.run(max_trials=2, progress=False, executor="ray", ray_address=ray_cluster, workers=2)
    assert [t.status for t in exp.trials()] == [TrialStatus.COMPLETE] * 2


# the Ray cluster is shared: its tests run on one xdist worker (tests/conftest.py)
@pytest.mark.parametrize(
    "executor", ["local", "processes", pytest.param("ray", marks=pytest.mark.xdist_group("ray"))]
)
def test_a_step_that_is_not_a_whole_number_fails_the_trial_the_same_way_everywhere(
    executor, tmp_path, request
):
    kwargs = {}
    if executor == "ray":
        kwargs = {"ray_address": request.getfixturevalue("ray_cluster")}
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=FaultyEvaluator(odd_steps={0: 3.0, 1: 2.5, 2: True}),  # in place of step 3
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 's.db'}",
    )
    exp.run(max_trials=4, progress=False, executor=executor, **kwargs)
    trials = exp.trials()
    assert trials[0].status == TrialStatus.COMPLETE and list(trials[0].intermediate) == [1, 2, 3]
    for trial, shown in ((trials[1], "2.5"), (trials[2], "True")):
        assert trial.status == TrialStatus.FAILED
        first = trial.error.splitlines()[0]
        assert (
            first
            == f"TypeError: ctx.report: step must be a whole number such as 1, 2, 3, got {shown}"
        )
        assert list(trial.intermediate) == [1, 2]  # the bad report was not stored
    assert trials[3].status == TrialStatus.COMPLETE
