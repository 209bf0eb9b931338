"""MONAS's rewards: one number from several objectives for a reinforcement-learning controller.

Hsu et al. 2018, "MONAS: Multi-Objective Neural Architecture Search using Reinforcement
Learning", reward the controller of NAS-RL with the accuracy *and* a cost (power, energy): a
mixed reward that subtracts a weighted cost from the accuracy, or a constrained one that
withholds the reward from an architecture over a cost budget. :class:`MonasReward` is both, for
the ``reward`` option of the ``reinforce`` strategy.

Example:
    >>> from nasforge.objectives import Objectives
    >>> objectives = Objectives.parse({"val_acc": "max", "params_m": "min"})
    >>> penalty = MonasReward.parse({"kind": "penalty", "weights": {"params_m": 10}}, objectives)
    >>> penalty((92.0, -0.5))  # 92 points of accuracy less 10 per million parameters
    87.0
    >>> limit = {"kind": "constrained", "budgets": {"params_m": 1.0}}
    >>> budget = MonasReward.parse(limit, objectives)
    >>> budget((90.0, -0.5)), budget((93.0, -1.5))  # the second is over budget
    (90.0, 90.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives

#: the kinds of reward, and the mapping each one takes
KINDS: dict[str, str] = {"penalty": "weights", "constrained": "budgets"}


@dataclass
class MonasReward:
    """A reward from a trial's scores (oriented larger-is-better, one per objective).

    - ``penalty`` (MONAS's mixed reward): the primary score less ``weight * cost`` for each
      other objective, its cost being its value when it is minimised (parameters, latency) and
      minus its value when it is maximised. A weight is in points of the primary objective per
      unit of that objective: ``{"params_m": 10}`` on ``val_acc`` trades one point of accuracy
      for 100,000 parameters. Every objective other than the primary needs a weight.
    - ``constrained`` (MONAS's reward under a hard constraint): the primary score while every
      budgeted objective is within its budget (at most the budget for a minimised objective, at
      least it for a maximised one), else the worst primary score told so far (the arch's own
      included): an arch over budget is never rewarded more than any arch seen. Objectives
      without a budget are free.

    Made by :meth:`parse`; calling it with a trial's scores gives the reward. A constrained
    reward remembers the worst primary score it was shown, so it is called once per told trial,
    in order (a replay gives the same rewards).
    """

    kind: str
    #: ``(objective index, weight or budget in the objective's oriented units)``
    terms: tuple[tuple[int, float], ...]
    worst_: float = math.inf

    @classmethod
    def parse(cls, value: Any, objectives: Objectives, where: str = "reward") -> MonasReward:
        """The reward ``value`` describes (``{"kind": ..., "weights"/"budgets": {...}}``), for
        ``objectives``; a bad one raises a one-line :class:`ConfigError` naming the field."""
        if not isinstance(value, Mapping) or value.get("kind") not in KINDS:
            raise ConfigError(
                f"{where} must be a mapping like {{'kind': 'penalty', 'weights': {{'params_m': "
                f"10}}}} or {{'kind': 'constrained', 'budgets': {{'params_m': 1.0}}}}, got "
                f"{value!r}"
            )
        kind = value["kind"]
        field = KINDS[kind]
        unknown = [key for key in value if key not in ("kind", field)]
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]}: a {kind!r} reward takes only 'kind' and {field!r}"
            )
        others = objectives.names[1:]
        if not others:
            raise ConfigError(
                f"{where}: a {kind!r} reward needs a second objective to weigh against the "
                f"primary {objectives.primary!r}; the objectives are only {objectives.primary!r}"
            )
        entries = value.get(field)
        if not isinstance(entries, Mapping) or not entries:
            raise ConfigError(
                f"{where}.{field} must map objectives other than the primary to numbers, e.g. "
                f"{{{others[0]!r}: 1.0}}, got {entries!r}"
            )
        terms = []
        for name, number in entries.items():
            if name not in others:
                raise ConfigError(
                    f"{where}.{field}.{name}: not an objective other than the primary "
                    f"{objectives.primary!r}; use {', '.join(map(repr, others))}"
                )
            if (
                isinstance(number, bool)
                or not isinstance(number, (int, float))
                or not math.isfinite(number)
                or (kind == "penalty" and number < 0)
            ):
                allowed = "a number >= 0" if kind == "penalty" else "a finite number"
                raise ConfigError(f"{where}.{field}.{name} must be {allowed}, got {number!r}")
            index = objectives.names.index(name)
            terms.append((index, objectives.oriented(name, float(number))))
        if kind == "penalty":
            missing = [name for name in others if name not in entries]
            if missing:
                raise ConfigError(
                    f"{where}.weights: no weight for {missing[0]!r}; a penalty reward weighs "
                    "every objective other than the primary (a weight of 0 ignores one)"
                )
            # a weight is not oriented: it multiplies the oriented score as it is
            terms = [(index, float(entries[objectives.names[index]])) for index, _ in terms]
        return cls(kind, tuple(sorted(terms)))

    def __call__(self, scores: Sequence[float]) -> float:
        primary = float(scores[0])
        if self.kind == "penalty":
            return primary + sum(weight * float(scores[i]) for i, weight in self.terms)
        self.worst_ = min(self.worst_, primary)
        within = all(float(scores[i]) >= bound for i, bound in self.terms)
        return primary if within else self.worst_


__all__ = ["KINDS", "MonasReward"]
