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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names below are, for type checkers and IDEs
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

# The public names, each imported from its module on first use (PEP 562). ``import nasforge``
# then costs a few milliseconds instead of a second: the ``nasforge`` command can take Ctrl-C
# from its first instant (its entry point guards the imports that follow), and a script that
# uses one part does not import the rest.
_LAZY: dict[str, tuple[str, ...]] = {
    "nasforge.constraints": ("Constraints",),
    "nasforge.errors": (
        "ConfigError",
        "NasforgeError",
        "NasforgeWarning",
        "RuleViolation",
        "SpaceError",
        "StorageError",
        "TableError",
        "TrialPruned",
    ),
    "nasforge.estimation": (
        "Evaluator",
        "FunctionEvaluator",
        "TrialContext",
        "create_evaluator",
        "list_evaluators",
        "register_evaluator",
    ),
    "nasforge.experiment": ("Experiment", "load_experiment"),
    "nasforge.objectives": ("Objectives",),
    "nasforge.space": (
        "Arch",
        "Categorical",
        "CellSpace",
        "Float",
        "Int",
        "ModelSpace",
        "Space",
        "Task",
        "with_training",
    ),
    "nasforge.spaces.define": ("Choices", "DefinedSpace"),
    "nasforge.storage": ("Storage",),
    "nasforge.strategies": ("Strategy", "create_strategy", "list_strategies", "register_strategy"),
    "nasforge.trial": ("Trial", "TrialStatus"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}

__version__ = "0.1.0"


def create_space(name: str, **options: Any) -> Space:
    """Construct the model space registered as ``name`` (e.g. ``"nb201"``)."""
    from nasforge.spaces import create_space as create

    return create(name, **options)


def list_spaces() -> list[str]:
    """Names of the registered model spaces."""
    from nasforge.spaces import list_spaces as names

    return names()


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use; or a submodule (``nasforge.viz``
    without ``import nasforge.viz``, as when the package imported every layer)."""
    module = _HOME.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # the next access finds it without this hook
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists and failed to import something of its own
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


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
