"""What one trial of a training evaluator trains with, and the checks of its numeric options.

Precedence, first wins: the arch's own dimensions (``lr``, ``weight_decay``), then the trial's
fidelity, then the evaluator's options (then the space's network sizes, which ``build`` uses
when no size is given).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from nasforge.errors import ConfigError, one_of
from nasforge.space import Arch, ModelSpace, Space
from nasforge.training import SGDRecipe

#: the keys a fidelity may carry besides the network sizes the trial's space declares
#: (:attr:`~nasforge.space.ModelSpace.size_options`)
FIDELITY_KEYS: tuple[str, ...] = ("epochs", "train_fraction")

#: the training evaluator's network-size options (overriding the space's ``size_options``)
SIZE_OPTIONS: tuple[str, ...] = ("n_cells", "channels")

#: network-size overrides for ``space.build``: key -> (value, the option or fidelity key)
Sizes = dict[str, tuple[int, str]]


def trial_settings(
    arch: Arch,
    fidelity: Mapping[str, Any],
    space: Space,
    options: SGDRecipe,
    size_options: Mapping[str, int],
) -> tuple[SGDRecipe, Sizes]:
    """The recipe and network sizes of one trial of ``arch`` in ``space``.

    ``options`` is the evaluator's recipe and ``size_options`` its network-size options. A
    fidelity's network sizes are the keys ``space`` declares in its ``size_options``, and
    :data:`SIZE_OPTIONS` (refused by :func:`~nasforge.training.build_model`, naming the key,
    when the space does not declare them).

    Raises:
        ConfigError: ``fidelity`` has an unknown key or a value out of range.
    """
    declared = tuple(space.size_options) if isinstance(space, ModelSpace) else ()
    fidelity = {key: value for key, value in fidelity.items() if value is not None}
    for key in fidelity:
        if key not in (*FIDELITY_KEYS, *declared, *SIZE_OPTIONS):
            allowed = one_of((*FIDELITY_KEYS, *declared))
            raise ConfigError(f"fidelity has unknown key {key!r}; allowed: {allowed}")
    epochs = options.epochs
    if "epochs" in fidelity:
        epochs = whole(fidelity["epochs"])
        check_int("fidelity 'epochs'", epochs, 1)
    train_fraction = options.train_fraction
    if "train_fraction" in fidelity:
        train_fraction = fidelity["train_fraction"]
        check_float("fidelity 'train_fraction'", train_fraction, low=0.0, high=1.0, low_open=True)
    sizes: Sizes = {}
    for key, value in fidelity.items():
        if key not in FIDELITY_KEYS:
            value = whole(value)
            check_int(f"fidelity {key!r}", value, 1)
            sizes[key] = (value, f"fidelity {key!r}")
    for key, value in size_options.items():
        sizes.setdefault(key, (value, key))
    recipe = dataclasses.replace(
        options,
        epochs=int(epochs),
        train_fraction=float(train_fraction),
        lr=_hyperparameter(arch, "lr", options.lr),
        weight_decay=_hyperparameter(arch, "weight_decay", options.weight_decay),
    )
    return recipe, sizes


def network_key(space: Space, arch: Arch, sizes: Sizes) -> str:
    """What the network of a trial is built from: the space's name, the arch and the network
    sizes (the space's own, overridden by ``sizes``), e.g. for reusing a measurement."""
    built = dict(space.size_options) if isinstance(space, ModelSpace) else {}
    built.update({key: value for key, (value, _) in sizes.items()})
    return f"{space.name};{arch.key};" + ",".join(f"{k}={v}" for k, v in sorted(built.items()))


def whole(value: Any) -> Any:
    """A whole float (``5.0`` from YAML) as an int; anything else unchanged for the checks."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _hyperparameter(arch: Arch, name: str, default: float) -> float:
    value = arch.get(name)
    return float(value) if value is not None else float(default)


def check_int(field: str, value: Any, low: int | None) -> None:
    """Refuse ``value`` unless it is an int (not a bool) of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        allowed = "an integer" + (f" >= {low}" if low is not None else "")
        raise ConfigError(f"{field}={value!r}; allowed: {allowed}")


def check_float(
    field: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Refuse ``value`` unless it is a finite number within the bounds (open or closed)."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ConfigError(f"{field}={value!r}; allowed: a number with {lo}{field}{hi}")
