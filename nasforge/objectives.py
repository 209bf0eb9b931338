"""``Objectives``: which metrics a search optimises, in which direction, parsed once.

One value answers "what is the objective?" for every part of a search: the strategy (given it at
construction), the early-stopping scheduler, the search loop (which turns a trial's metrics into
its ``scores``), the progress bar, the plots and the command line. The first objective is the
*primary* one: it ranks trials (``best()``), and a strategy or scheduler that optimises a single
number optimises it.

Example:
    >>> objectives = Objectives.parse({"val_acc": "max", "params": "min"})
    >>> objectives.primary, objectives.directions
    ('val_acc', ('max', 'min'))
    >>> objectives.scores({"val_acc": 97.5, "params": 1200.0})
    (97.5, -1200.0)
    >>> objectives.missing({"val_acc": 97.5})
    'params'
    >>> dict(objectives)
    {'val_acc': 'max', 'params': 'min'}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from nasforge.errors import ConfigError, one_of

#: the directions an objective may have
DIRECTIONS: tuple[str, ...] = ("max", "min")

#: what a search optimises when nothing is said: the validation accuracy
DEFAULT_OBJECTIVES: Mapping[str, str] = {"val_acc": "max"}


class Objectives(Mapping[str, str]):
    """An ordered, immutable mapping of metric name to ``"max"`` or ``"min"``.

    Made by :meth:`parse` from what a user writes (a mapping, a list of names to maximise, one
    name, or ``None`` for :data:`DEFAULT_OBJECTIVES`). Two ``Objectives`` are equal when they
    name the same metrics in the same order with the same directions.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        pairs = tuple((str(name), str(direction)) for name, direction in items)
        if not pairs:
            raise ConfigError("objectives must name at least one metric")
        seen: set[str] = set()
        for name, direction in pairs:
            if not name:
                raise ConfigError("objectives: a metric name must be a non-empty string")
            if name in seen:
                raise ConfigError(f"objectives.{name}: named twice; name each metric once")
            if direction not in DIRECTIONS:
                raise ConfigError(
                    f"objectives.{name}: direction {direction!r} is not allowed; use "
                    f"{one_of(DIRECTIONS)}"
                )
            seen.add(name)
        self._items = pairs

    @classmethod
    def parse(
        cls, value: Objectives | Mapping[str, str] | Sequence[str] | str | None
    ) -> Objectives:
        """The objectives ``value`` describes (see the class docstring); a bad entry raises
        :class:`~nasforge.errors.ConfigError` naming it and what is allowed."""
        if isinstance(value, Objectives):
            return value
        if value is None:
            return cls(DEFAULT_OBJECTIVES.items())
        if isinstance(value, str):
            return cls([(value, "max")])
        if isinstance(value, Mapping):
            return cls(value.items())
        if isinstance(value, Sequence):
            for name in value:
                if not isinstance(name, str):
                    raise ConfigError(
                        f"objectives: expected metric names, got {name!r}; or give a mapping "
                        "like {'val_acc': 'max'}"
                    )
            return cls((name, "max") for name in value)
        raise ConfigError(
            f"objectives must be a mapping like {{'val_acc': 'max'}}, a list of names to "
            f"maximise or one name, got {value!r}"
        )

    # ---- the mapping ------------------------------------------------------------------------

    def __getitem__(self, name: str) -> str:
        for key, direction in self._items:
            if key == name:
                return direction
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Objectives):
            return self._items == other._items
        if isinstance(other, Mapping):
            return list(self.items()) == list(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Objectives({dict(self._items)!r})"

    # ---- what the parts of a search ask ------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """The metric names, primary first."""
        return tuple(name for name, _ in self._items)

    @property
    def directions(self) -> tuple[str, ...]:
        """``"max"`` or ``"min"`` of each objective, in order."""
        return tuple(direction for _, direction in self._items)

    @property
    def primary(self) -> str:
        """The first objective: it ranks trials, and single-objective methods optimise it."""
        return self._items[0][0]

    @property
    def primary_direction(self) -> str:
        return self._items[0][1]

    @property
    def multi(self) -> bool:
        """Whether there is more than one objective."""
        return len(self._items) > 1

    def oriented(self, name: str, value: float) -> float:
        """``value`` of objective ``name`` turned so that larger is better."""
        return value if self[name] == "max" else -value

    def value(self, metrics: Mapping[str, float], name: str | None = None) -> float | None:
        """Objective ``name`` (default: the primary) in ``metrics``, larger-is-better;
        ``None`` when it is missing or not finite."""
        name = self.primary if name is None else name
        raw = metrics.get(name)
        if raw is None:
            return None
        number = float(raw)
        if not math.isfinite(number):
            return None
        return self.oriented(name, number)

    def scores(self, metrics: Mapping[str, float]) -> tuple[float, ...] | None:
        """Every objective in ``metrics`` oriented so larger is better, in order; ``None`` if
        one is missing or not finite (the trial then has no score)."""
        out = []
        for name in self.names:
            value = self.value(metrics, name)
            if value is None:
                return None
            out.append(value)
        return tuple(out)

    def missing(self, metrics: Mapping[str, float]) -> str | None:
        """The first objective that ``metrics`` lacks (or holds as NaN/inf), else ``None``."""
        for name in self.names:
            if self.value(metrics, name) is None:
                return name
        return None

    def check_metrics(self, declared: Sequence[str] | None, evaluator: str) -> None:
        """Refuse an objective that ``evaluator`` never returns, before any trial runs.

        ``declared`` is the evaluator's ``metric_names``; ``None`` (a user's function) means
        unknown until a trial returns, and nothing is checked.
        """
        if declared is None:
            return
        for name in self.names:
            if name not in declared:
                raise ConfigError(
                    f"objectives.{name}: evaluator {evaluator} does not return {name!r}; it "
                    f"returns {', '.join(declared)}"
                )

    def to_json(self) -> dict[str, str]:
        """``{name: direction}`` in order (JSON keeps the order of an object's keys)."""
        return dict(self._items)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Objectives:
        return cls.parse(dict(data))


__all__ = ["DEFAULT_OBJECTIVES", "DIRECTIONS", "Objectives"]
