"""Stores made by real tiny searches (see ``viz_trials`` for the evaluator)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from viz_trials import SPACE, MakeExperiment, cell_metrics

import nasforge as nf


@pytest.fixture
def make_experiment(tmp_path: Path) -> MakeExperiment:
    """``make_experiment(name, trials, two_objectives=True, pruning=True)``: run a random
    search with :func:`cell_metrics` in ``tmp_path/store.db`` (a second call resumes it)."""

    def make(
        name: str = "demo",
        trials: int = 12,
        two_objectives: bool = True,
        pruning: bool = True,
        seed: int = 0,
    ) -> nf.Experiment:
        objectives = {"acc": "max", "params": "min"} if two_objectives else {"acc": "max"}
        options: dict[str, Any] = {}
        if pruning:
            options = {"scheduler": "median", "scheduler_options": {"min_trials": 3}}
        with warnings.catch_warnings():  # the median rule judges 'acc' alone: expected here
            warnings.simplefilter("ignore", nf.NasforgeWarning)
            exp = nf.Experiment(
                SPACE,
                strategy="random",
                evaluator=cell_metrics,
                objectives=objectives,
                storage=f"sqlite:///{tmp_path / 'store.db'}",
                name=name,
                seed=seed,
                fidelity={"epochs": 3},
                **options,
            )
        exp.run(max_trials=trials, progress=False)
        return exp

    return make
