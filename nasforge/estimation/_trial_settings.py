"""What one trial of a training evaluator trains with, and the checks of its numeric options.

Precedence, first wins: the arch's own dimensions (its training dimensions ``train.*`` of
:func:`~nasforge.space.with_training`, and ``lr``, ``weight_decay`` of a space that searches
them itself), then the trial's fidelity, then the evaluator's options (then the space's
network sizes, which ``build`` uses when no size is given).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from nasforge.errors import ConfigError, one_of
from nasforge.space import Arch, ModelSpace, Space, training_values
from nasforge.training import TrainRecipe

#: the keys a fidelity may carry besides the network sizes the trial's space declares
#: (:attr:`~nasforge.space.ModelSpace.size_options`)
FIDELITY_KEYS: tuple[str, ...] = ("epochs", "train_fraction")

#: the training evaluator's network-size options (overriding the space's ``size_options``)
SIZE_OPTIONS: tuple[str, ...] = ("n_cells", "channels")

#: network-size overrides for ``space.build``: key -> (value, the option or fidelity key)
Sizes = dict[str, tuple[int, str]]


def check_fidelity(
    fidelity: Mapping[str, Any], space: Space, size_options: Mapping[str, int]
) -> tuple[dict[str, Any], Sizes]:
    """The checked fidelity of a training evaluator (``None`` values dropped, whole floats of
    epochs and sizes as ints) and the network sizes of a trial of ``space``: the fidelity's,
    then the evaluator's ``size_options``.

    A fidelity's network sizes are the keys ``space`` declares in its ``size_options``, and
    :data:`SIZE_OPTIONS`, which only a space that declares them takes.

    Raises:
        ConfigError: ``fidelity`` has an unknown key or a value out of range, or a network size
            (of the fidelity or of ``size_options``) that ``space`` does not build with.
    """
    declared = tuple(space.size_options) if isinstance(space, ModelSpace) else ()
    checked = {
        key: value if key == "train_fraction" else whole(value)
        for key, value in fidelity.items()
        if value is not None
    }
    for key in checked:
        if key not in (*FIDELITY_KEYS, *declared, *SIZE_OPTIONS):
            allowed = one_of((*FIDELITY_KEYS, *declared))
            raise ConfigError(f"fidelity has unknown key {key!r}; allowed: {allowed}")
    if "epochs" in checked:
        check_int("fidelity 'epochs'", checked["epochs"], 1)
    if "train_fraction" in checked:
        fraction = checked["train_fraction"]
        check_float("fidelity 'train_fraction'", fraction, low=0.0, high=1.0, low_open=True)
    sizes: Sizes = {}
    for key, value in checked.items():
        if key not in FIDELITY_KEYS:
            check_int(f"fidelity {key!r}", value, 1)
            sizes[key] = (value, f"fidelity {key!r}")
    for key, value in size_options.items():
        sizes.setdefault(key, (value, key))
    for key, (value, source) in sizes.items():
        if key not in declared:  # the message of ``build_model``, which would say it per trial
            raise ConfigError(
                f"{source}={value!r} needs a space that builds with another {key}, but space "
                f"{space.name!r} ({type(space).__name__}) does not; allowed: a space such as "
                f"'nb201', or no {key}"
            )
    return checked, sizes


def trial_settings(
    arch: Arch,
    fidelity: Mapping[str, Any],
    space: Space,
    options: TrainRecipe,
    size_options: Mapping[str, int],
) -> tuple[TrainRecipe, Sizes]:
    """The recipe and network sizes of one trial of ``arch`` in ``space``.

    ``options`` is the evaluator's recipe and ``size_options`` its network-size options; the
    fidelity is checked by :func:`check_fidelity`.

    Raises:
        ConfigError: see :func:`check_fidelity`.
    """
    checked, sizes = check_fidelity(fidelity, space, size_options)
    searched = training_values(arch)
    recipe = dataclasses.replace(
        options,
        epochs=int(checked.get("epochs", options.epochs)),
        train_fraction=float(checked.get("train_fraction", options.train_fraction)),
        lr=float(searched.get("lr", _hyperparameter(arch, "lr", options.lr))),
        weight_decay=float(
            searched.get(
                "weight_decay", _hyperparameter(arch, "weight_decay", options.weight_decay)
            )
        ),
        batch_size=int(searched.get("batch_size", options.batch_size)),
        momentum=float(searched.get("momentum", options.momentum)),
        optimizer=searched.get("optimizer", options.optimizer),
        schedule=str(searched.get("schedule", options.schedule)),
    )
    return recipe, sizes


def model_settings(arch: Arch, dropout: float | None, init: str) -> tuple[float | None, str]:
    """The dropout (``None``: as built) and initialisation of the network of ``arch``: its
    ``train.dropout`` and ``train.init`` when searched, else the evaluator's ``dropout`` and
    ``init``."""
    searched = training_values(arch)
    p = searched.get("dropout", dropout)
    return (None if p is None else float(p)), str(searched.get("init", init))


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
