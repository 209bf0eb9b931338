"""Stores written before the seams change (schema 2, commit d5cb4ca) open, list and resume.

``data/store_schema2_d5cb4ca.sqlite`` was written by nasforge at commit d5cb4ca with:

- ``table-re``: a YAML-made search (``parse_config`` + ``build_experiment``), regularized
  evolution (population 8, sample 3) on the shipped NAS-Bench-201 table, seed 3, 20 trials;
- ``two-objectives``: made from Python, ``optuna:nsga2`` with the then-needed option
  ``n_objectives: 2`` on ``{val_acc: max, params_m: min}``, nb201 (n_cells 1, channels 8),
  seed 1, 12 trials;
- ``scheduled``: made from Python, random search on ``CellSpace(3, [none, skip_connect,
  conv])`` with ASHA (max_step 9, eta 3) and a function evaluator reporting 9 steps, seed 0,
  15 trials (9 pruned).
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.experiment import load_experiment
from nasforge.experiment.config import build_experiment, parse_config
from nasforge.export import open_source
from nasforge.storage import Storage
from nasforge.trial import TrialStatus

FIXTURE = Path(__file__).parent / "data" / "store_schema2_d5cb4ca.sqlite"


@pytest.fixture()
def old_store(tmp_path: Path) -> str:
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, path)
    return f"sqlite:///{path}"


def test_an_older_store_opens_and_reads(old_store: str) -> None:
    names = [r.name for r in Storage(old_store, create=False).list_experiments()]
    assert names == ["table-re", "two-objectives", "scheduled"]
    table = load_experiment("table-re", old_store)
    assert len(table.trials()) == 20
    assert table.best() is not None and table.best().metrics["val_acc"] > 80
    two = load_experiment("two-objectives", old_store)
    assert dict(two.objectives) == {"val_acc": "max", "params_m": "min"}
    assert len(two.pareto_front()) >= 1
    scheduled = load_experiment("scheduled", old_store)
    assert sum(t.status == TrialStatus.PRUNED for t in scheduled.trials()) == 9
    assert all(t.intermediate for t in scheduled.trials())
    # what retrain and export read back: the space of a YAML-made and a Python-made experiment
    assert table.space() is not None and table.space().name == "nb201"
    assert two.space().size_options == {"n_cells": 1, "channels": 8}  # type: ignore[union-attr]
    assert open_source("two-objectives", old_store).space.name == "nb201"


def test_a_yaml_made_search_of_an_older_store_resumes(old_store: str) -> None:
    stored = load_experiment("table-re", old_store).record.spec["config"]
    exp = build_experiment(parse_config(stored), storage=old_store)
    before = [(t.number, t.arch.key, dict(t.metrics)) for t in exp.trials()]
    exp.run(max_trials=25, progress=False)
    after = exp.trials()
    assert [(t.number, t.arch.key, dict(t.metrics)) for t in after[:20]] == before
    assert len(after) == 25 and all(t.status == TrialStatus.COMPLETE for t in after)


def test_an_option_the_objectives_replaced_does_not_block_a_resume(old_store: str) -> None:
    exp = nf.Experiment(
        nf.create_space("nb201", n_cells=1, channels=8),
        strategy="optuna:nsga2",
        evaluator=nf.create_evaluator("tabular", epochs=12),
        objectives={"val_acc": "max", "params_m": "min"},
        storage=old_store,
        name="two-objectives",
        seed=1,
        strategy_options={"population_size": 6},  # n_objectives=2 is now the objectives' job
    )
    exp.run(max_trials=18, progress=False)
    trials = exp.trials()
    assert len(trials) == 18
    assert all(t.scores == (t.metrics["val_acc"], -t.metrics["params_m"]) for t in trials)


def curve(arch: nf.Arch, ctx: nf.TrialContext) -> dict[str, float]:
    """The function evaluator the fixture's ``scheduled`` experiment was made with."""
    base = (zlib.crc32(arch.key.encode()) % 1000) / 10.0
    for step in range(1, 10):
        ctx.report(step, {"val_acc": base * step / 9})
    return {"val_acc": base}


def test_a_scheduled_search_of_an_older_store_resumes_with_its_curves(old_store: str) -> None:
    exp = nf.Experiment(
        nf.CellSpace(3, ["none", "skip_connect", "conv"]),
        strategy="random",
        evaluator=curve,
        objectives={"val_acc": "max"},
        storage=old_store,
        name="scheduled",
        seed=0,
        scheduler="asha",
        scheduler_options={"max_step": 9, "reduction_factor": 3},
    )
    exp.run(max_trials=20, progress=False)
    assert len(exp.trials()) == 20
    assert exp.scheduler_ is not None and len(exp.scheduler_.curves_) == 20
