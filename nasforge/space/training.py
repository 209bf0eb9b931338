"""Training dimensions that attach to any space: optimiser, learning rate and schedule, weight
decay, batch size, dropout and initialisation, searched together with the architecture.

:func:`with_training` returns a :class:`TrainingSpace`: the inner space's dimensions, then the
training dimensions, each named ``train.<field>`` so that no name can clash with the inner
space's. The inner space keeps what it states (its key notation, moves, cells, decision
groups, ``build`` and ``size_options``, its name); the training values follow its key after a
comma: ``|nor_conv_3x3~0|+|...|,train.optimizer=adam,train.lr=0.003,...``. A training
evaluator reads the ``train.*`` values of an arch; the model builder never sees them.

Each field takes ``None`` (not searched: the evaluator's own setting is used), one value
(fixed), a list of values (a categorical choice) or, for a number, a range
``{"low": ..., "high": ..., "log": ...}``. Fields left out take :data:`TRAINING_DEFAULTS`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import ConfigError, SpaceError, one_of
from nasforge.space.arch import Arch, default_key
from nasforge.space.base import Space
from nasforge.space.dims import Categorical, Dimension, Float, Int
from nasforge.space.graph import CellGraph
from nasforge.space.model import ModelSpace

if TYPE_CHECKING:  # pragma: no cover - typing only; ``space`` never imports torch
    import torch

    from nasforge.space.task import Task

#: the prefix of every training dimension's name
PREFIX = "train."
#: optimisers: plain SGD, SGD with (heavy-ball) momentum, SGD with Nesterov momentum, Adam, AdamW
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "nesterov", "adam", "adamw")
#: learning-rate schedules over all steps: none, cosine annealing to 0, x0.1 at 1/2 and 3/4
SCHEDULES: tuple[str, ...] = ("constant", "cosine", "step")
#: weight initialisations of convolutions and linear layers (``default``: PyTorch's own)
INITS: tuple[str, ...] = ("default", "kaiming", "xavier", "lecun")
#: optimisers that use the ``momentum`` field
MOMENTUM_OPTIMIZERS: tuple[str, ...] = ("momentum", "nesterov")

#: what each field searches when it is not given, in the order the dimensions follow
TRAINING_DEFAULTS: dict[str, Any] = {
    "optimizer": list(OPTIMIZERS),
    "momentum": {"low": 0.5, "high": 0.99, "log": False},
    "lr": {"low": 1e-4, "high": 0.1, "log": True},
    "schedule": list(SCHEDULES),
    "weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
    "batch_size": [32, 64, 128, 256],
    "dropout": {"low": 0.0, "high": 0.5, "log": False},
    "init": list(INITS),
}
TRAINING_FIELDS: tuple[str, ...] = tuple(TRAINING_DEFAULTS)

_NAMES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "init": INITS}
#: numeric fields: (kind, lowest, highest, whether the highest is excluded, text of the bounds)
_NUMBERS: dict[str, tuple[type, float, float, bool, str]] = {
    "momentum": (float, 0.0, 1.0, True, "a number with 0 <= momentum < 1"),
    "lr": (float, 0.0, math.inf, False, "a number > 0"),
    "weight_decay": (float, 0.0, math.inf, False, "a number >= 0"),
    "batch_size": (int, 2, math.inf, False, "an integer >= 2"),
    "dropout": (float, 0.0, 1.0, True, "a number with 0 <= dropout < 1"),
}


def dim_name(field: str) -> str:
    """The name of the dimension of training ``field``: ``train.<field>``."""
    return PREFIX + field


def training_values(arch: Mapping[str, Any]) -> dict[str, Any]:
    """The training fields an arch sets (``train.lr`` -> ``lr``), without inactive ones.

    Example:
        >>> training_values({"edge_1_0": "conv", "train.lr": 0.01, "train.momentum": None})
        {'lr': 0.01}
    """
    return {
        name[len(PREFIX) :]: value
        for name, value in arch.items()
        if name.startswith(PREFIX) and value is not None
    }


def check_training_options(options: Any, where: str = "training") -> dict[str, Any]:
    """The normalised training options: every field, ``None`` where not searched, a list of
    values or a ``{"low", "high", "log"}`` range (JSON, as a store keeps it).

    Raises:
        ConfigError: an unknown field, or a value that is not allowed; the message names
            ``where.<field>`` and what is allowed.
    """
    if options is None or options is True:
        options = {}
    if not isinstance(options, Mapping):
        raise ConfigError(
            f"{where}={options!r}; allowed: a mapping of fields ({one_of(TRAINING_FIELDS)}), "
            "or true for the defaults"
        )
    for field in options:
        if field not in TRAINING_DEFAULTS:
            raise ConfigError(
                f"{where} has unknown field {field!r}; allowed: {one_of(TRAINING_FIELDS)}"
            )
    out: dict[str, Any] = {}
    for field, default in TRAINING_DEFAULTS.items():
        value = options.get(field, default)
        out[field] = None if value is None else _check_field(field, value, f"{where}.{field}")
    chosen = out["optimizer"]
    uses_momentum = chosen is None or any(o in MOMENTUM_OPTIMIZERS for o in chosen)
    if out["momentum"] is not None and not uses_momentum:
        if options.get("momentum") is not None:
            raise ConfigError(
                f"{where}.momentum is searched but no optimizer uses it; allowed: an optimizer "
                f"among {one_of(MOMENTUM_OPTIMIZERS)}, or momentum: null"
            )
        out["momentum"] = None
    if all(value is None for value in out.values()):
        raise ConfigError(f"{where} leaves every field out; allowed: at least one field searched")
    return out


def _check_field(field: str, value: Any, where: str) -> Any:
    if field in _NAMES:
        names = _NAMES[field]
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}={value!r}; allowed: one of {one_of(names)}, or a list")
        for name in values:
            if name not in names:
                raise ConfigError(f"{where} has {name!r}; allowed: {one_of(names)}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{where}={value!r} names a value twice")
        return list(values)
    kind, low, high, high_open, allowed = _NUMBERS[field]

    def number(x: Any, at: str) -> float | int:
        ok = not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)
        if ok and kind is int:
            ok = float(x).is_integer()
        if ok:
            ok = x >= low and (x < high if high_open else x <= high)
            ok = ok and (field != "lr" or x > 0)
        if not ok:
            raise ConfigError(f"{at}={x!r}; allowed: {allowed}")
        return int(x) if kind is int else float(x)

    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in ("low", "high", "log")]
        if unknown or "low" not in value or "high" not in value:
            raise ConfigError(
                f"{where}={dict(value)!r}; allowed: a range with keys 'low', 'high' and "
                "optionally 'log'"
            )
        lo, hi = number(value["low"], f"{where}.low"), number(value["high"], f"{where}.high")
        log = value.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"{where}.log={log!r}; allowed: true or false")
        if not lo < hi:
            raise ConfigError(f"{where}: low={lo!r} must be below high={hi!r}")
        if log and lo <= 0:
            raise ConfigError(f"{where}: a log-scale range needs low > 0, got {lo!r}")
        return {"low": lo, "high": hi, "log": log}
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ConfigError(f"{where}=[]; allowed: {allowed}, a list of them or a range")
    checked = [number(x, where) for x in values]
    if len(set(checked)) != len(checked):
        raise ConfigError(f"{where}={value!r} names a value twice")
    return checked


def training_dims(options: Mapping[str, Any]) -> list[Dimension]:
    """The ``train.*`` dimensions of normalised ``options`` (:func:`check_training_options`).

    ``train.momentum`` is active only for the optimisers that use it when the optimiser is
    searched.
    """
    dims: list[Dimension] = []
    for field, spec in options.items():
        if spec is None:
            continue
        when = None
        if field == "momentum" and options.get("optimizer") is not None:
            chosen = [o for o in options["optimizer"] if o in MOMENTUM_OPTIMIZERS]
            when = {dim_name("optimizer"): chosen}
        name = dim_name(field)
        if isinstance(spec, Mapping):
            kind = Int if _NUMBERS[field][0] is int else Float
            dims.append(kind(name, spec["low"], spec["high"], log=spec["log"], when=when))
        else:
            dims.append(Categorical(name, spec, when=when))
    return dims


class TrainingSpace(Space):
    """A space with training dimensions after those of an inner space (see the module text).

    Made by :func:`with_training`. Moves, keys, cells and decision groups of the architecture
    part are the inner space's own; the training part moves as a plain :class:`Space`.
    ``training`` holds the normalised options (every field; ``None`` where not searched).
    """

    def __init__(self, inner: Space, training: Mapping[str, Any] | None = None) -> None:
        if isinstance(inner, TrainingSpace):
            raise ConfigError(f"space {inner.name!r} already has training dimensions")
        if not isinstance(inner, Space):
            raise ConfigError(f"with_training needs a Space, got {type(inner).__name__}")
        self.inner = inner
        self.training = check_training_options(training)
        for name in inner.names:
            if name.startswith(PREFIX):
                raise ConfigError(
                    f"space {inner.name!r} has dimension {name!r}; allowed: names that do not "
                    f"start with {PREFIX!r}, which training dimensions use"
                )
        for field in ("lr", "weight_decay"):
            if field in inner.names and self.training[field] is not None:
                raise ConfigError(
                    f"space {inner.name!r} searches {field!r} itself; allowed: training with "
                    f"{field}: null, or the space without its {field!r} dimension"
                )
        self._training = Space(training_dims(self.training), name=f"{inner.name} training")
        super().__init__([*inner.dims, *self._training.dims], name=inner.name)

    def __repr__(self) -> str:
        return f"with_training({self.inner!r}, {len(self._training.dims)} training dims)"

    # ---- the two parts -----------------------------------------------------------------------

    def split(self, arch: Mapping[str, Any]) -> tuple[Arch, Arch]:
        """The inner space's arch and the training part of ``arch`` (both without checks)."""
        inner = {d.name: arch.get(d.name) for d in self.inner.dims}
        train = {d.name: arch.get(d.name) for d in self._training.dims}
        return Arch(inner, key=self.inner.key(inner)), Arch(train, key=default_key(train))

    def _join(self, inner: Arch, train: Arch) -> Arch:
        return Arch({**inner, **train}, key=f"{inner.key},{train.key}")

    def key(self, values: Mapping[str, Any]) -> str:
        inner, train = self.split(values)
        return f"{inner.key},{train.key}"

    def make(self, values: Mapping[str, Any]) -> Arch:
        unknown = [k for k in values if k not in self._by_name]
        if unknown:
            raise SpaceError(
                f"space {self.name!r} has no dimension {unknown[0]!r}; it has {one_of(self.names)}"
            )
        inner = {k: v for k, v in values.items() if not k.startswith(PREFIX)}
        train = {k: v for k, v in values.items() if k.startswith(PREFIX)}
        return self._join(self.inner.make(inner), self._training.make(train))

    def parse(self, key: str) -> Arch:
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        cut = key.find("," + PREFIX)
        if cut < 0:
            raise SpaceError(
                f"cannot parse arch {key!r}: no training values; expected '<arch>,{PREFIX}...'"
            )
        inner = self.inner.parse(key[:cut])
        return self._join(inner, self._training.parse(key[cut + 1 :]))

    # ---- moves -------------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Arch:
        return self._join(self.inner.sample(rng), self._training.sample(rng))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Mutate the architecture part or the training part, chosen in proportion to the
        dimensions each could change."""
        inner, train = self.split(arch)
        n_inner = sum(1 for d in self.inner.active(inner) if d.size > 1)
        n_train = sum(1 for d in self._training.active(train) if d.size > 1)
        if not n_inner + n_train:
            return arch
        if rng.random() < n_inner / (n_inner + n_train):
            return self._join(self.inner.mutate(inner, rng), train)
        return self._join(inner, self._training.mutate(train, rng))

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        (a_inner, a_train), (b_inner, b_train) = self.split(a), self.split(b)
        return self._join(
            self.inner.crossover(a_inner, b_inner, rng),
            self._training.crossover(a_train, b_train, rng),
        )

    def neighbors(self, arch: Arch) -> list[Arch]:
        inner, train = self.split(arch)
        return [self._join(n, train) for n in self.inner.neighbors(inner)] + [
            self._join(inner, n) for n in self._training.neighbors(train)
        ]

    # ---- encodings and counting --------------------------------------------------------------

    @property
    def encoding_size(self) -> int:
        return self.inner.encoding_size + self._training.encoding_size

    def encode(self, arch: Arch) -> np.ndarray:
        inner, train = self.split(arch)
        return np.concatenate([self.inner.encode(inner), self._training.encode(train)])

    def size(self) -> float:
        inner, train = self.inner.size(), self._training.size()
        if math.isinf(inner) or math.isinf(train):
            return math.inf
        return int(inner * train)

    def enumerate(self) -> Iterator[Arch]:
        if math.isinf(self.size()):
            raise SpaceError(f"space {self.name!r} is infinite and cannot be enumerated")
        trains = list(self._training.enumerate())
        for inner, train in itertools.product(self.inner.enumerate(), trains):
            yield self._join(inner, train)

    # ---- structure ---------------------------------------------------------------------------

    def cell_templates(self) -> tuple[CellGraph, ...]:
        return self.inner.cell_templates()

    def cells(self, arch: Arch) -> tuple[CellGraph, ...]:
        return self.inner.cells(self.split(arch)[0])

    def decision_groups(self) -> list[list[str]]:
        """The inner space's decisions, then each training dimension alone."""
        return [*self.inner.decision_groups(), *self._training.decision_groups()]

    def crossover_groups(self) -> list[list[str]]:
        """The inner space's crossover groups, then each training dimension alone."""
        return [*self.inner.crossover_groups(), *self._training.crossover_groups()]


class TrainingModelSpace(TrainingSpace, ModelSpace):
    """A :class:`TrainingSpace` around a :class:`ModelSpace`: it builds the inner space's
    network (the training values are not passed to ``build``) at the same ``size_options``."""

    inner: ModelSpace

    @property
    def size_options(self) -> Mapping[str, int]:
        return self.inner.size_options

    def build(self, arch: Arch, task: Task, **sizes: int) -> torch.nn.Module:
        return self.inner.build(self.split(self.validate(arch))[0], task, **sizes)


def with_training(
    space: Space, options: Mapping[str, Any] | bool | None = None, /, **fields: Any
) -> TrainingSpace:
    """``space`` with training dimensions ``train.<field>`` after its own.

    The fields come as keywords, or as one mapping ``options`` (as a YAML config gives them;
    ``True`` or ``None``: the defaults), or both.

    Fields (see :data:`TRAINING_DEFAULTS` for what each searches when left out):
    ``optimizer`` (:data:`OPTIMIZERS`), ``momentum`` (only for ``momentum``/``nesterov``),
    ``lr``, ``schedule`` (:data:`SCHEDULES`), ``weight_decay``, ``batch_size``, ``dropout``
    and ``init`` (:data:`INITS`). Each takes ``None`` (not searched), one value (fixed), a
    list (a choice) or, for numbers, ``{"low": ..., "high": ..., "log": ...}``.

    Raises:
        ConfigError: an unknown field or a value not allowed, naming the field.

    Example:
        >>> from nasforge.space import Categorical
        >>> base = Space([Categorical("op", ["conv", "pool"])], name="tiny")
        >>> space = with_training(base, optimizer=["sgd", "adam"], lr={"low": 1e-3, "high": 0.1,
        ...     "log": True}, batch_size=64, schedule=None, weight_decay=None, dropout=None,
        ...     init=None)
        >>> space.names
        ['op', 'train.optimizer', 'train.lr', 'train.batch_size']
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.parse(arch.key) == arch and arch["train.batch_size"] == 64
        True
    """
    if options is None or options is True:
        options = {}
    if not isinstance(options, Mapping):
        options = check_training_options(options)  # raises: not a mapping
    training = {str(k): v for k, v in options.items()} | fields
    if isinstance(space, ModelSpace):
        return TrainingModelSpace(space, training)
    return TrainingSpace(space, training)


__all__ = [
    "INITS",
    "MOMENTUM_OPTIMIZERS",
    "OPTIMIZERS",
    "PREFIX",
    "SCHEDULES",
    "TRAINING_DEFAULTS",
    "TRAINING_FIELDS",
    "TrainingModelSpace",
    "TrainingSpace",
    "check_training_options",
    "dim_name",
    "training_dims",
    "training_values",
    "with_training",
]
