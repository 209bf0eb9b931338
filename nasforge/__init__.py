"""nasforge: neural architecture search and hyperparameter optimisation on PyTorch.

Example:
    >>> import nasforge as nf
    >>> space = nf.CellSpace(4, ["skip_connect", "nor_conv_3x3"])
    >>> exp = nf.Experiment(space, strategy="regularized-evolution",
    ...                     evaluator=lambda arch: {"convs": arch.key.count("conv")},
    ...                     objectives={"convs": "max"}, storage="sqlite:///:memory:", seed=0)
    >>> _ = exp.run(max_trials=20, progress=False)
    >>> exp.best().metrics["convs"]
    6.0
"""

from __future__ import annotations

from typing import Any

from nasforge.constraints import Constraints
from nasforge.errors import (
    ConfigError,
    NasforgeError,
    NasforgeWarning,
    RuleViolation,
    SpaceError,
    StorageError,
    TableError,
    TrialPruned,
)
from nasforge.estimation import (
    Evaluator,
    FunctionEvaluator,
    TrialContext,
    create_evaluator,
    list_evaluators,
    register_evaluator,
)
from nasforge.experiment import Experiment, load_experiment
from nasforge.objectives import Objectives
from nasforge.space import (
    Arch,
    Categorical,
    CellSpace,
    Float,
    Int,
    ModelSpace,
    Space,
    Task,
    with_training,
)
from nasforge.spaces.define import Choices, DefinedSpace
from nasforge.storage import Storage
from nasforge.strategies import Strategy, create_strategy, list_strategies, register_strategy
from nasforge.trial import Trial, TrialStatus

__version__ = "0.1.0"


def create_space(name: str, **options: Any) -> Space:
    """Construct the model space registered as ``name`` (e.g. ``"nb201"``)."""
    from nasforge.spaces import create_space as create

    return create(name, **options)


def list_spaces() -> list[str]:
    """Names of the registered model spaces."""
    from nasforge.spaces import list_spaces as names

    return names()


__all__ = [
    "Arch",
    "Categorical",
    "CellSpace",
    "Choices",
    "ConfigError",
    "Constraints",
    "DefinedSpace",
    "Evaluator",
    "Experiment",
    "Float",
    "FunctionEvaluator",
    "Int",
    "ModelSpace",
    "NasforgeError",
    "NasforgeWarning",
    "Objectives",
    "RuleViolation",
    "Space",
    "SpaceError",
    "Storage",
    "StorageError",
    "Strategy",
    "TableError",
    "Task",
    "Trial",
    "TrialContext",
    "TrialPruned",
    "TrialStatus",
    "__version__",
    "create_evaluator",
    "create_space",
    "create_strategy",
    "list_evaluators",
    "list_spaces",
    "list_strategies",
    "load_experiment",
    "register_evaluator",
    "register_strategy",
    "with_training",
]
