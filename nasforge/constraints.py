"""``Constraints``: hard limits a trial's metrics must keep, parsed once.

Beside the :class:`~nasforge.objectives.Objectives` (what a search optimises), an experiment may
name hard constraints: ``params_m <= 0.5``, ``latency_ms <= 2``. A trial that breaks one is
*infeasible*: it is stored with what it measured and the constraint it broke, never ranked by
``best()`` or placed on the Pareto front, and the strategy is told (``trial.feasible`` is
``False``, ``trial.violations`` says by how much). Where the evaluator can measure a
constrained metric without training (a parameter count, a latency: see
:meth:`~nasforge.estimation.Evaluator.cheap_metrics`), the check comes before training and an
infeasible arch is not trained at all; other constraints are checked on the trained metrics.

Each metric takes one constraint, with one of the operators ``<=``, ``<``, ``>=`` and ``>``
and a finite bound. The canonical form, kept in the store, is a mapping of metric name to
``"<operator> <bound>"``.

Example:
    >>> constraints = Constraints.parse({"params_m": "<= 0.5", "latency_ms": "<= 2"})
    >>> constraints.names
    ('params_m', 'latency_ms')
    >>> constraints.violations({"params_m": 0.75, "latency_ms": 1.5})
    {'params_m': 0.25}
    >>> constraints.feasible({"params_m": 0.4, "latency_ms": 1.5})
    True
    >>> Constraints.parse(["params_m <= 0.5"]) == Constraints.parse({"params_m": "<=0.5"})
    True
    >>> constraints.to_json()
    {'params_m': '<= 0.5', 'latency_ms': '<= 2'}
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nasforge.errors import ConfigError, one_of
from nasforge.trial import Trial

#: the comparisons a constraint may make
OPERATORS: tuple[str, ...] = ("<=", "<", ">=", ">")

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = re.compile(rf"\s*(?P<op><=|>=|<|>)\s*(?P<bound>{_NUMBER})\s*")
_WHOLE = re.compile(rf"\s*(?P<name>[^\s<>=]+)\s*(?P<op><=|>=|<|>)\s*(?P<bound>{_NUMBER})\s*")
_FORM = "an operator (<=, <, >= or >) and a finite number, e.g. '<= 0.5'"


def _show(number: float) -> str:
    """``number`` as short as it reads back exactly (``2.0`` as ``2``)."""
    text = repr(float(number))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Constraint:
    """One hard limit: ``metric op bound`` (``params_m <= 0.5``)."""

    metric: str
    op: str
    bound: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {_show(self.bound)}"

    @property
    def condition(self) -> str:
        """The right-hand side as stored: ``"<= 0.5"``."""
        return f"{self.op} {_show(self.bound)}"

    def margin(self, value: float) -> float:
        """How far ``value`` is past the bound: above 0 it breaks the constraint by that much,
        at or below 0 it keeps it (for ``<`` and ``>``, ``value`` on the bound breaks it with a
        margin of 0, see :meth:`holds`)."""
        return value - self.bound if self.op in ("<=", "<") else self.bound - value

    def holds(self, value: float) -> bool:
        """Whether ``value`` keeps the constraint."""
        margin = self.margin(value)
        return margin <= 0 if self.op in ("<=", ">=") else margin < 0


class Constraints(Sequence[Constraint]):
    """An ordered, immutable sequence of :class:`Constraint`, at most one per metric.

    Made by :meth:`parse` from what a user writes: a mapping ``{"params_m": "<= 0.5"}``, a
    list of ``"params_m <= 0.5"`` strings, one such string, or ``None`` (no constraint). Empty
    constraints are false in a boolean context.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[Constraint] = ()) -> None:
        seen: set[str] = set()
        for item in items:
            if item.metric in seen:
                raise ConfigError(
                    f"constraints.{item.metric}: named twice; give each metric one constraint"
                )
            seen.add(item.metric)
        self._items = tuple(items)

    @classmethod
    def parse(
        cls, value: Constraints | Mapping[str, Any] | Sequence[str] | str | None
    ) -> Constraints:
        """The constraints ``value`` describes (see the class docstring); a bad entry raises a
        one-line :class:`~nasforge.errors.ConfigError` naming it and what is allowed."""
        if isinstance(value, Constraints):
            return value
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls([_whole(value)])
        if isinstance(value, Mapping):
            return cls([_entry(name, condition) for name, condition in value.items()])
        if isinstance(value, Sequence):
            return cls([_whole(item) for item in value])
        raise ConfigError(
            f"constraints must be a mapping like {{'params_m': '<= 0.5'}} or a list like "
            f"['params_m <= 0.5'], got {value!r}"
        )

    # ---- the sequence -------------------------------------------------------------------------

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Constraint]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Constraints):
            return self._items == other._items
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Constraints({self.to_json()!r})"

    def __str__(self) -> str:
        return ", ".join(str(c) for c in self._items) or "none"

    # ---- what a search asks --------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """The constrained metrics, in order."""
        return tuple(c.metric for c in self._items)

    def margins(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """``{metric: value}`` of each constraint on a metric ``metrics`` holds as a finite
        number, in the convention of Optuna's constrained samplers: at or below 0 it is kept
        (by that much room), above 0 it is broken by that much. A value on the bound of a
        strict ``<`` or ``>`` breaks it by the least positive float.

        A metric ``metrics`` lacks, or holds as NaN or infinite, is left out: it is not
        measured (yet); :meth:`missing` names it.
        """
        out = {}
        for c in self._items:
            value = _finite(metrics.get(c.metric))
            if value is None:
                continue
            margin = c.margin(value)
            out[c.metric] = sys.float_info.min if margin <= 0 and not c.holds(value) else margin
        return out

    def violations(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """``{metric: by how much}`` of every constraint ``metrics`` breaks (``{}``: none);
        the positive :meth:`margins`. Unmeasured metrics break nothing here."""
        return {name: value for name, value in self.margins(metrics).items() if value > 0}

    def feasible(self, metrics: Mapping[str, float]) -> bool:
        """Whether ``metrics`` break no constraint (unmeasured metrics break none)."""
        return not self.violations(metrics)

    def missing(self, metrics: Mapping[str, float]) -> str | None:
        """The first constrained metric ``metrics`` lacks or holds as NaN or infinite."""
        for name in self.names:
            if _finite(metrics.get(name)) is None:
                return name
        return None

    def explain(self, violations: Mapping[str, float], metrics: Mapping[str, float]) -> str:
        """One line naming each broken constraint and the value that broke it:
        ``params_m = 0.8 breaks params_m <= 0.5``."""
        parts = [
            f"{c.metric} = {_show(metrics[c.metric])} breaks {c}"
            for c in self._items
            if c.metric in violations
        ]
        return "; ".join(parts)

    def judge(self, trials: Sequence[Trial]) -> list[Trial]:
        """``trials`` with their :attr:`~nasforge.trial.Trial.constraint_values` (hence
        ``violations`` and ``feasible``) worked out from their metrics: a store keeps the
        metrics, and the experiment its constraints, not the verdict."""
        if not self._items:
            return list(trials)
        return [replace(t, constraint_values=self.margins(t.metrics)) for t in trials]

    def check_metrics(self, declared: Sequence[str] | None, evaluator: str) -> None:
        """Refuse a constraint on a metric ``evaluator`` never returns, before any trial runs
        (``declared``: its ``metric_names``; ``None``, unknown, checks nothing)."""
        if declared is None:
            return
        for name in self.names:
            if name not in declared:
                raise ConfigError(
                    f"constraints.{name}: evaluator {evaluator} does not return {name!r}; it "
                    f"returns {', '.join(declared)}"
                )

    def to_json(self) -> dict[str, str]:
        """``{metric: "<operator> <bound>"}`` in order: the canonical form."""
        return {c.metric: c.condition for c in self._items}

    @classmethod
    def from_json(cls, data: Any) -> Constraints:
        """Read what :meth:`to_json` wrote (``None`` or ``{}``: no constraint)."""
        return cls.parse(dict(data) if isinstance(data, Mapping) else data)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _entry(name: Any, condition: Any) -> Constraint:
    """The constraint of one mapping entry ``name: "<= 0.5"``."""
    if not isinstance(name, str) or not name or _WHOLE.fullmatch(f"{name}<=0") is None:
        raise ConfigError(
            f"constraints: {name!r} is not a metric name; use the name a metric is returned "
            "under, such as 'params_m'"
        )
    match = _BOUND.fullmatch(condition) if isinstance(condition, str) else None
    if match is None:
        raise ConfigError(
            f"constraints.{name}: {condition!r} is not a condition; write {_FORM} "
            f"(operators allowed: {one_of(OPERATORS)})"
        )
    return _constraint(name, match["op"], match["bound"])


def _whole(text: Any) -> Constraint:
    """The constraint a string ``"params_m <= 0.5"`` states."""
    match = _WHOLE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"constraints: {text!r} is not a constraint; write a metric name, then {_FORM}: "
            "'params_m <= 0.5'"
        )
    return _constraint(match["name"], match["op"], match["bound"])


def _constraint(name: str, op: str, bound: str) -> Constraint:
    number = float(bound)
    if not math.isfinite(number):
        raise ConfigError(f"constraints.{name}: bound {bound!r} is not a finite number")
    return Constraint(name, op, number)


__all__ = ["OPERATORS", "Constraint", "Constraints"]
