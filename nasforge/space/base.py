"""``Space``: an ordered set of dimensions and every operation strategies need on it."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import RuleViolation, SpaceError, one_of
from nasforge.space.arch import Arch, default_key
from nasforge.space.dims import Dimension
from nasforge.space.graph import CellGraph

if TYPE_CHECKING:  # pragma: no cover - typing only; ``space`` never imports torch
    import torch

    from nasforge.space.task import Task

#: how many draws ``sample``, ``mutate`` and ``crossover`` make before giving up on a space
#: whose :meth:`Space.violation` rejects them
RULE_TRIES = 100
#: a space with rules and no ``size()`` of its own is counted by enumeration up to this many
#: unconstrained archs
RULE_COUNT_LIMIT = 200_000


class Space:
    """An ordered set of :class:`Dimension` objects: the architectures a search may try.

    A dimension with ``when=...`` must come after the dimensions it depends on. Every method is
    deterministic given the ``numpy.random.Generator`` passed in.

    A rule that conditions cannot state (one depending on several values together) is given by
    overriding :meth:`violation`: ``make`` then refuses an arch that breaks it, ``sample``,
    ``mutate`` and ``crossover`` draw again (at most :data:`RULE_TRIES` times),
    ``neighbors`` and ``enumerate`` leave such archs out and ``size`` counts only the others.
    A space without rules behaves, and draws from the generator, exactly as if the hook did not
    exist.

    Example:
        >>> from nasforge.space import Categorical, Float, Int
        >>> space = Space([Categorical("op", ["conv", "pool"]), Int("depth", 1, 3),
        ...                Float("lr", 1e-3, 1e-1, log=True)])
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.parse(arch.key) == arch
        True
        >>> space.encode(arch).shape
        (4,)
    """

    def __init__(self, dims: Sequence[Dimension], name: str = "custom") -> None:
        self.name = name
        self.dims: tuple[Dimension, ...] = tuple(dims)
        self._by_name: dict[str, Dimension] = {}
        for dim in self.dims:
            if dim.name in self._by_name:
                raise SpaceError(f"space {name!r}: dimension {dim.name!r} appears twice")
            for parent, allowed in dim.when.items():
                if parent not in self._by_name:
                    raise SpaceError(
                        f"space {name!r}: dimension {dim.name!r} depends on {parent!r}, "
                        "which must be an earlier dimension"
                    )
                for value in allowed:
                    try:
                        self._by_name[parent].check(value)
                    except SpaceError as exc:
                        raise SpaceError(
                            f"dimension {dim.name!r}: when={dim.when}: {exc}"
                        ) from None
            self._by_name[dim.name] = dim
        if not self.dims:
            raise SpaceError(f"space {name!r} has no dimensions")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self.dims)} dims, size={self.size()})"

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dims]

    def dim(self, name: str) -> Dimension:
        try:
            return self._by_name[name]
        except KeyError:
            raise SpaceError(
                f"space {self.name!r} has no dimension {name!r}; it has {one_of(self.names)}"
            ) from None

    # ---- making and checking archs -----------------------------------------------------------

    def key(self, values: Mapping[str, Any]) -> str:
        """The canonical text of checked values. Subclasses with a known notation override it."""
        return default_key(values)

    def violation(self, values: Mapping[str, Any]) -> str | None:
        """The rule the checked ``values`` (every dimension, inactive ones ``None``) break, in
        one line naming it, or ``None`` when they break none. The default: no rules.

        Override it for a rule that ``when=`` conditions cannot state; keep it cheap, moves
        call it on every draw.
        """
        return None

    def _has_rules(self) -> bool:
        return type(self).violation is not Space.violation

    def _obeys(self, arch: Arch) -> bool:
        return self.violation(arch) is None

    def make(self, values: Mapping[str, Any]) -> Arch:
        """Check ``values`` (every dimension named, each value allowed, no rule of
        :meth:`violation` broken) and return the ``Arch``.

        An inactive conditional dimension may be left out or given as ``None``.
        """
        unknown = [k for k in values if k not in self._by_name]
        if unknown:
            raise SpaceError(
                f"space {self.name!r} has no dimension {unknown[0]!r}; it has {one_of(self.names)}"
            )
        checked: dict[str, Any] = {}
        for dim in self.dims:
            if not dim.is_active(checked):
                if values.get(dim.name) is not None:
                    raise SpaceError(
                        f"dimension {dim.name!r} is inactive here (it needs {dim.when}) "
                        f"but was given {values[dim.name]!r}"
                    )
                checked[dim.name] = None
            elif dim.name not in values or values[dim.name] is None:
                raise SpaceError(f"space {self.name!r}: dimension {dim.name!r} has no value")
            else:
                checked[dim.name] = dim.check(values[dim.name])
        broken = self.violation(checked)
        if broken is not None:
            raise RuleViolation(f"space {self.name!r}: arch breaks a rule: {broken}")
        return Arch(checked, key=self.key(checked))

    def validate(self, arch: Arch | Mapping[str, Any]) -> Arch:
        """Return ``arch`` checked against this space; a :class:`SpaceError` names a bad field."""
        made = self.make(arch)
        if isinstance(arch, Arch) and arch.key != made.key:
            raise SpaceError(f"arch key {arch.key!r} does not match its values ({made.key!r})")
        return made

    def parse(self, key: str) -> Arch:
        """The ``Arch`` whose canonical key is ``key``."""
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        return self.make(self._parse_pairs(key))

    def _parse_pairs(self, text: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for part in filter(None, text.split(",")):
            name, sep, value = part.partition("=")
            if not sep:
                raise SpaceError(f"cannot parse {part!r} in arch key {text!r}; expected name=value")
            if name in values:
                raise SpaceError(f"cannot parse arch key {text!r}: {name!r} appears twice")
            values[name] = self.dim(name).from_text(value)
        return values

    def _complete(self, values: dict[str, Any], rng: np.random.Generator) -> Arch:
        """Fill dimensions that became active with fresh samples, clear inactive ones."""
        out: dict[str, Any] = {}
        for dim in self.dims:
            if not dim.is_active(out):
                out[dim.name] = None
            elif values.get(dim.name) is None:
                out[dim.name] = dim.sample(rng)
            else:
                out[dim.name] = values[dim.name]
        return Arch(out, key=self.key(out))

    # ---- moves used by strategies ------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random architecture (each active dimension drawn independently; with
        rules, drawn again until one obeys them)."""
        arch = self._complete({}, rng)
        for _ in range(RULE_TRIES - 1):
            if self._obeys(arch):
                return arch
            arch = self._complete({}, rng)
        broken = self.violation(arch)
        if broken is not None:
            raise SpaceError(
                f"space {self.name!r}: no arch obeying its rules in {RULE_TRIES} samples "
                f"(the last broke: {broken})"
            )
        return arch

    def active(self, arch: Arch) -> list[Dimension]:
        return [d for d in self.dims if arch[d.name] is not None]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one active dimension (chosen uniformly among those with another value)."""
        movable = [d for d in self.active(arch) if d.size > 1]
        if not movable:
            return arch
        for _ in range(RULE_TRIES):
            dim = movable[int(rng.integers(len(movable)))]
            changed = arch.replace(**{dim.name: dim.mutate(arch[dim.name], rng)})
            mutant = self._complete(changed, rng)
            if self._obeys(mutant):
                return mutant
        return arch  # with rules, every try broke one: keep the (valid) arch

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover: each group of :meth:`crossover_groups` (by default each
        dimension) from ``a`` or ``b`` with equal chance (with rules, drawn again until the
        child obeys them, else ``a``)."""
        groups = self.crossover_groups()
        for _ in range(RULE_TRIES):
            values: dict[str, Any] = {}
            for group in groups:
                first, second = (a, b) if rng.random() < 0.5 else (b, a)
                for name in group:
                    values[name] = first[name] if first[name] is not None else second[name]
            child = self._complete(values, rng)
            if self._obeys(child):
                return child
        return a

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Every architecture that differs from ``arch`` in one active dimension by one step.

        A dimension that becomes active takes its ``default`` value, so the result is
        deterministic and needs no generator.
        """
        out: list[Arch] = []
        for dim in self.active(arch):
            for value in dim.neighbors(arch[dim.name]):
                near = self._complete_first(arch.replace(**{dim.name: value}))
                if self._obeys(near):
                    out.append(near)
        return out

    def _complete_first(self, values: dict[str, Any]) -> Arch:
        out: dict[str, Any] = {}
        for dim in self.dims:
            if not dim.is_active(out):
                out[dim.name] = None
            elif values.get(dim.name) is None:
                out[dim.name] = dim.default
            else:
                out[dim.name] = values[dim.name]
        return Arch(out, key=self.key(out))

    # ---- encodings and counting --------------------------------------------------------------

    @property
    def encoding_size(self) -> int:
        return sum(d.width for d in self.dims)

    def encode(self, arch: Arch) -> np.ndarray:
        """A fixed-length vector: one-hot for categories, [0, 1] for numbers, 0 if inactive."""
        parts: list[float] = []
        for dim in self.dims:
            value = arch[dim.name]
            parts.extend(dim.encode(value) if value is not None else [0.0] * dim.width)
        return np.asarray(parts, dtype=np.float64)

    def size(self) -> float:
        """The number of distinct architectures (``math.inf`` with a continuous dimension).

        With rules (:meth:`violation`), the archs that obey them, counted by enumeration; a
        space with rules and more than :data:`RULE_COUNT_LIMIT` archs before them overrides
        this with a count of its own.
        """
        unconstrained = self._size_without_rules()
        if not self._has_rules() or math.isinf(unconstrained):
            return unconstrained
        if unconstrained > RULE_COUNT_LIMIT:
            raise SpaceError(
                f"space {self.name!r} has rules and {unconstrained:.0f} archs before them, too "
                f"many to count by enumeration (limit {RULE_COUNT_LIMIT}); override size()"
            )
        return sum(1 for _ in self.enumerate())

    def _size_without_rules(self) -> float:
        total = _count(self.dims)
        return int(total) if not math.isinf(total) else math.inf

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture in a fixed order (only for finite spaces)."""
        if math.isinf(self._size_without_rules()):
            raise SpaceError(f"space {self.name!r} is infinite and cannot be enumerated")

        for values in _assignments(self.dims):
            if self.violation(values) is None:
                yield Arch(values, key=self.key(values))

    # ---- structure ---------------------------------------------------------------------------

    def cell_templates(self) -> tuple[CellGraph, ...]:
        """The cells of this space's archs, each edge naming the dimension that decides its
        operation (``dim``) and that dimension's ``choices``; ``()`` for a space without cells.

        Path encodings, PNAS, the cell drawing and code export read a cell's structure from
        here instead of from dimension names. A space with cells overrides this (and only this:
        :meth:`cells` realises the templates).
        """
        return ()

    def cells(self, arch: Arch) -> tuple[CellGraph, ...]:
        """The cells of ``arch``: the templates with each edge's operation filled in."""
        return tuple(template.realise(arch) for template in self.cell_templates())

    def crossover_groups(self) -> list[list[str]]:
        """Dimension names grouped into the units crossover passes on whole, in order; every
        dimension in exactly one group.

        By default each dimension is a group of its own. A genotype made of parts says so
        here: Genetic CNN's crossover exchanges whole stages, the hierarchical space's whole
        motifs; :meth:`crossover` and the ``genetic`` strategy both respect the groups.
        """
        return [[d.name] for d in self.dims]

    def decision_groups(self) -> list[list[str]]:
        """Dimension names grouped into the decisions a step-wise strategy (PNAS) takes one
        after another, in order; every dimension in exactly one group.

        By default each dimension is a group of its own, in order.
        """
        return [[d.name] for d in self.dims]

    # ---- models ------------------------------------------------------------------------------

    def build(self, arch: Arch, task: Task) -> torch.nn.Module:
        """Build the network for ``arch``. Only model spaces (``nasforge.spaces``) can."""
        raise SpaceError(
            f"space {self.name!r} describes choices only and cannot build a model; use a model "
            "space from nasforge.spaces or evaluate archs with your own function"
        )


def _assignments(dims: Sequence[Dimension]) -> Iterator[dict[str, Any]]:
    """Every assignment of values to ``dims`` that respects their conditions, in order."""

    def rec(i: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(dims):
            yield values
            return
        dim = dims[i]
        if not dim.is_active(values):
            yield from rec(i + 1, {**values, dim.name: None})
            return
        for value in dim.values():
            yield from rec(i + 1, {**values, dim.name: value})

    yield from rec(0, {})


def _count(dims: Sequence[Dimension]) -> float:
    """How many assignments :func:`_assignments` gives, without listing them.

    Dimensions are taken in order, keeping only the values of the earlier ones that a later
    condition still reads: the number of such partial assignments stays small for nested
    choices (a branch's operation read by its own reduction width only), where enumerating every
    combination of the parent dimensions would not end.
    """
    if any(math.isinf(d.size) for d in dims if any(d.name in c.when for c in dims)):
        return math.inf  # a continuous parent: infinitely many branches
    # live[i]: the dimensions before i that a condition of dimension i or later reads
    live: list[tuple[str, ...]] = [()] * (len(dims) + 1)
    read: set[str] = set()
    for i in range(len(dims) - 1, -1, -1):
        read |= set(dims[i].when)
        live[i] = tuple(d.name for d in dims[:i] if d.name in read)
    states: dict[tuple[Any, ...], float] = {(): 1}  # ints while finite: exact counts
    for i, dim in enumerate(dims):
        after: dict[tuple[Any, ...], float] = {}
        for state, count in states.items():
            values = dict(zip(live[i], state, strict=True))
            if not dim.is_active(values):
                choices: list[Any] = [None]
            elif dim.name in live[i + 1]:
                choices = list(dim.values())
            else:  # read by no later condition: a factor, not a branch
                choices, count = [None], count * dim.size
            for value in choices:
                values[dim.name] = value
                key = tuple(values[name] for name in live[i + 1])
                after[key] = after.get(key, 0) + count
        states = after
    return sum(states.values())
