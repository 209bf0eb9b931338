"""Experiments: a search tied to its store, resumable by name."""

from __future__ import annotations

from nasforge.experiment.experiment import Callback, Experiment
from nasforge.experiment.front import HypervolumeSetting, ParetoSummary, pareto_summary
from nasforge.experiment.load import StoredExperiment, load_experiment
from nasforge.experiment.results import best_trial, pareto_trials
from nasforge.experiment.session import RunSession
from nasforge.experiment.spec import ExperimentSpec

__all__ = [
    "Callback",
    "Experiment",
    "ExperimentSpec",
    "HypervolumeSetting",
    "ParetoSummary",
    "RunSession",
    "StoredExperiment",
    "best_trial",
    "load_experiment",
    "pareto_summary",
    "pareto_trials",
]
