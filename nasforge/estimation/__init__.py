"""Performance estimation: how good is an architecture, and at what cost.

Evaluators are chosen by name (``create_evaluator("train", dataset="mnist1d")``) or constructed
directly. Torch-based evaluators are imported only when first used. A training evaluator adds
measures of the trained network (``TrainEvaluator(measures=["params"])``), chosen by name from
:data:`MEASURES` (parameters, FLOPs, peak memory, latency); the cost evaluator
(``create_evaluator("cost", measures=["flops", "latency"])``) measures the untrained network
and trains nothing. The training loop itself is the public toolkit :mod:`nasforge.training`.
"""

from __future__ import annotations

from typing import Any

from nasforge.estimation.base import Evaluator, FunctionEvaluator, TrialContext, as_metrics
from nasforge.estimation.measures import (
    MEASURES,
    Measure,
    create_measure,
    list_measures,
    register_measure,
)
from nasforge.registry import Registry

EVALUATORS: Registry[Evaluator] = Registry("evaluator")
EVALUATORS.register(
    "train",
    "nasforge.estimation.train:TrainEvaluator",
    "Train each architecture for real (MNIST-1D, digits or your arrays) on CPU or GPU.",
)
EVALUATORS.register(
    "tabular",
    "nasforge.estimation.tabular:TabularEvaluator",
    "Look accuracies up in a NAS-Bench-201-form table (no training).",
)
EVALUATORS.register(
    "cost",
    "nasforge.estimation.cost:CostEvaluator",
    "Hardware cost of the untrained network (params, FLOPs, peak memory, latency); no training.",
)
EVALUATORS.register(
    "zero-cost",
    "nasforge.estimation.zero_cost:ZeroCostEvaluator",
    "Zero-cost proxies at initialisation (synflow, naswot, jacob_cov, snip, grad_norm, params).",
)
EVALUATORS.register(
    "sequence",
    "nasforge.estimation.sequence:SequenceEvaluator",
    "Train recurrent cells (rnn-cell) on a sequence task: adding, copy, mnist1d, chars (bpc).",
)


def register_evaluator(name: str, factory: Any, summary: str = "") -> None:
    """Make ``factory(**options)`` available as evaluator ``name``."""
    EVALUATORS.register(name, factory, summary)


def create_evaluator(name: str, **options: Any) -> Evaluator:
    """Construct the evaluator registered as ``name``."""
    return EVALUATORS.create(name, **options)


def list_evaluators() -> list[str]:
    return EVALUATORS.names()


__all__ = [
    "EVALUATORS",
    "MEASURES",
    "Evaluator",
    "FunctionEvaluator",
    "Measure",
    "TrialContext",
    "as_metrics",
    "create_evaluator",
    "create_measure",
    "list_evaluators",
    "list_measures",
    "register_evaluator",
    "register_measure",
]
