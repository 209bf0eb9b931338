"""Experiments: a search tied to its store, resumable by name."""

from __future__ import annotations

from nasforge.experiment.experiment import Experiment, best_trial, pareto_trials
from nasforge.experiment.load import load_experiment

__all__ = ["Experiment", "best_trial", "load_experiment", "pareto_trials"]
