"""A resume must match every setting that changes what a trial means (space and its options,
evaluator and its options, fidelity, ...) and may change where trials run (issue 13)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import nasforge as nf
from nasforge.errors import StorageError
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import build_experiment, parse_config
from nasforge.experiment.spec import LATER_KEYS, ExperimentSpec
from nasforge.spaces import NB201Space

OLD_STORE = Path(__file__).parents[1] / "storage" / "data" / "store_schema2_d5cb4ca.sqlite"


def tabular(path: Path, **kw: Any) -> nf.Experiment:
    kw.setdefault("evaluator", "tabular")
    return nf.Experiment(
        kw.pop("space", "nb201"), strategy="random", storage=path, name="e", seed=0, **kw
    )


def refusal(exp: nf.Experiment) -> str:
    with pytest.raises(StorageError) as info:
        exp.trials()
    return str(info.value)


def test_a_changed_evaluator_option_is_refused_naming_both_values(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    tabular(path, evaluator_options={"epochs": 200}).run(max_trials=2, progress=False)
    message = refusal(tabular(path, evaluator_options={"epochs": 12}))
    assert "was started with evaluator_options.epochs=200, not 12; use the same settings" in (
        message
    )
    assert "\n" not in message
    # an option at its default is the same setting as an option left out
    assert len(tabular(path, evaluator_options={"epochs": 200, "table": None}).trials()) == 2


def test_the_issue_case_20_epochs_then_5(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    space = NB201Space(n_cells=1, channels=4)
    twenty = TrainEvaluator("digits", epochs=20)
    nf.Experiment(space, evaluator=twenty, storage=path, name="e").trials()
    five = nf.Experiment(
        space, evaluator=TrainEvaluator("digits", epochs=5), storage=path, name="e"
    )
    assert "was started with evaluator_options.epochs=20, not 5" in refusal(five)


def test_a_changed_evaluator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    tabular(path).trials()
    message = refusal(tabular(path, evaluator=lambda arch: {"val_acc": 1.0}))
    assert "was started with evaluator='tabular', not 'FunctionEvaluator'" in message


def test_a_custom_evaluator_is_compared_by_its_class_name(tmp_path: Path) -> None:
    class Lookup(nf.FunctionEvaluator):
        pass

    path = tmp_path / "s.db"
    tabular(path, evaluator=lambda arch: {"val_acc": 1.0}).trials()
    # another function is the same class: what its code does cannot be compared
    assert tabular(path, evaluator=lambda arch: {"val_acc": 2.0}).trials() == []
    message = refusal(tabular(path, evaluator=Lookup(lambda arch: {"val_acc": 1.0})))
    assert "evaluator='FunctionEvaluator', not 'Lookup'" in message


def test_changed_space_options_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    tabular(path, space_options={"n_cells": 1, "channels": 8}).trials()
    # the same archs (size and dimensions), but other networks
    message = refusal(tabular(path, space_options={"n_cells": 2, "channels": 8}))
    assert "was started with space_options.n_cells=1, not 2" in message
    same = tabular(path, space=NB201Space(n_cells=1, channels=8))  # the object, not the name
    assert same.trials() == []


def test_a_changed_fidelity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    tabular(path, fidelity={"epochs": 12}).trials()
    message = refusal(tabular(path, fidelity={"epochs": 200}))
    assert "was started with fidelity={'epochs': 12}, not {'epochs': 200}" in message
    assert "fidelity={'epochs': 12}, not {}" in refusal(tabular(path))


def test_an_option_one_side_lacks_is_not_compared(tmp_path: Path) -> None:
    """An option a later version added (or made a runtime option) does not block a resume."""
    spec = tabular(tmp_path / "s.db", evaluator_options={"epochs": 200}).spec()
    stored = spec.to_json()
    stored["evaluator_options"] = {"epochs": 200, "gone": 1}  # without 'table', with 'gone'
    assert spec.first_difference(stored) is None
    stored["evaluator_options"] = {"epochs": 12}
    assert spec.first_difference(stored) == ("evaluator_options.epochs", 12, 200)
    stored["evaluator_options"] = None  # a custom evaluator then, a registered one now
    assert spec.first_difference(stored) == ("evaluator_options", None, spec.evaluator_options)


def test_where_trials_run_may_change(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    space = NB201Space(n_cells=1, channels=4)

    def train(**options: Any) -> nf.Experiment:
        evaluator = TrainEvaluator("digits", epochs=1, **options)
        return nf.Experiment(space, evaluator=evaluator, storage=path, name="t", device="cpu")

    train(threads=1).trials()
    again = nf.Experiment(
        space,
        evaluator=TrainEvaluator("digits", epochs=1, threads=2, device="cpu"),
        storage=path,
        name="t",
        device="auto",
    )
    assert again.trials() == []
    assert "evaluator_options.amp='auto', not False" in refusal(
        train(amp=False)  # mixed precision changes the numbers: not a runtime option
    )
    # executor, workers and heartbeat settings are options of run, not of the experiment
    exp = tabular(tmp_path / "r.db")
    exp.run(max_trials=2, progress=False)
    tabular(tmp_path / "r.db").run(max_trials=3, progress=False, heartbeat_s=1, stale_after=5)
    assert len(tabular(tmp_path / "r.db").trials()) == 3


def test_the_record_holds_the_new_identity_keys(tmp_path: Path) -> None:
    exp = tabular(tmp_path / "s.db", evaluator_options={"epochs": 200}, fidelity={"epochs": 200})
    spec = exp.record.spec
    assert {k: spec[k] for k in LATER_KEYS} == {
        "space_options": {
            "n_cells": 5,
            "channels": 16,
            "ops": ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"],
            "hyperparameters": [],
        },
        "evaluator": "tabular",
        "evaluator_options": {"table": None, "epochs": 200, "curve": False},
        "fidelity": {"epochs": 200},
    }
    read = ExperimentSpec.from_json(spec)
    assert read.evaluator == "tabular" and read.fidelity == {"epochs": 200}
    assert read.identity() == exp.spec().identity()
    custom = nf.Experiment(
        nf.CellSpace(3, ["a", "b"]), evaluator=lambda arch: 1.0, storage=tmp_path / "c.db"
    )
    train = nf.Experiment(
        NB201Space(), evaluator=TrainEvaluator("digits", threads=1), storage=tmp_path / "t.db"
    )
    assert not {"device", "threads", "max_device_data_mb"} & set(train.spec().evaluator_options)
    assert {k: custom.record.spec[k] for k in LATER_KEYS} == {
        "space_options": None,
        "evaluator": "FunctionEvaluator",
        "evaluator_options": None,
        "fidelity": {},
    }


@pytest.fixture()
def old_store(tmp_path: Path) -> str:
    path = tmp_path / "old.sqlite"
    shutil.copy(OLD_STORE, path)
    return f"sqlite:///{path}"


def test_a_record_written_before_the_new_keys_resumes_comparing_what_it_holds(
    old_store: str,
) -> None:
    stored = nf.load_experiment("table-re", old_store).record.spec
    assert not set(LATER_KEYS) & set(stored)
    config = dict(stored["config"])
    config["fidelity"] = {"epochs": 12}  # a key the old record does not hold: not compared
    exp = build_experiment(parse_config(config), storage=old_store)
    exp.run(max_trials=22, progress=False)
    assert len(exp.trials()) == 22
    assert nf.load_experiment("table-re", old_store).record.spec == stored  # left as it was
    config["seed"] = 4  # a key it holds still is
    with pytest.raises(StorageError, match="seed=3, not 4"):
        build_experiment(parse_config(config), storage=old_store).trials()
