"""Early-stopping schedulers: stop a trial from its intermediate curve, chosen by name.

Example:
    >>> scheduler = create_scheduler("asha", reduction_factor=3).bind(None, max_step=27)
    >>> scheduler.rungs()
    [1, 3, 9]
    >>> "learning-curve" in list_schedulers()
    True
"""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry
from nasforge.schedulers.asha import SuccessiveHalving
from nasforge.schedulers.base import Scheduler
from nasforge.schedulers.hyperband import Hyperband
from nasforge.schedulers.median import MedianStopping
from nasforge.schedulers.moasha import MOSuccessiveHalving, promotion_order

SCHEDULERS: Registry[Scheduler] = Registry("scheduler")
SCHEDULERS.register(
    "median",
    MedianStopping,
    "Median stopping rule (Golovin et al. 2017): below the median of completed curves stops.",
)
SCHEDULERS.register(
    "asha",
    SuccessiveHalving,
    "Asynchronous successive halving (Li et al. 2020): top 1/eta go on at each rung.",
)
SCHEDULERS.register(
    "moasha",
    MOSuccessiveHalving,
    "Multi-objective ASHA (Schmucker et al. 2021): top 1/eta by Pareto rank, then crowding.",
)
SCHEDULERS.register(
    "hyperband",
    Hyperband,
    "Hyperband (Li et al. 2018): ASHA brackets with different first rungs.",
)
# imported on first use: it needs scikit-learn
SCHEDULERS.register(
    "learning-curve",
    "nasforge.schedulers.learning_curve:LearningCurveScheduler",
    "Learning-curve prediction (Baker et al. 2017): nu-SVR ensemble predicts the final value.",
)


def register_scheduler(name: str, factory: Any, summary: str = "") -> None:
    """Make ``factory(**options)`` available as scheduler ``name``."""
    SCHEDULERS.register(name, factory, summary)


def create_scheduler(name: str, **options: Any) -> Scheduler:
    """Construct the scheduler registered as ``name``."""
    return SCHEDULERS.create(name, **options)


def list_schedulers() -> list[str]:
    return SCHEDULERS.names()


__all__ = [
    "SCHEDULERS",
    "Hyperband",
    "MOSuccessiveHalving",
    "MedianStopping",
    "Scheduler",
    "SuccessiveHalving",
    "create_scheduler",
    "list_schedulers",
    "promotion_order",
    "register_scheduler",
]
