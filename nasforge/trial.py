"""Frozen trial records: what was tried, how it ended, and what it measured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from nasforge.space.arch import Arch


class TrialStatus(str, Enum):
    """Where a trial stands. ``interrupted`` means its process died; it is retried on resume."""

    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """Complete, pruned or failed: a result the strategy has been (or will be) told."""
        return self in (TrialStatus.COMPLETE, TrialStatus.PRUNED, TrialStatus.FAILED)


@dataclass(frozen=True)
class Trial:
    """One evaluation of one architecture, as stored.

    ``scores`` are the objective values oriented so that larger is better (a minimised objective
    is negated), in the order of the experiment's objectives; ``None`` unless the trial finished
    with every objective measured. Strategies read ``score``; people read ``metrics``.

    ``ask_seq`` and ``tell_seq`` place the strategy's ``ask`` that produced the trial and the
    ``tell`` that reported it on one counter per experiment, so that a resumed experiment can
    replay them in their original order. A retry of an interrupted trial has no ``ask_seq`` of its
    own; ``retry_of`` names the trial it repeats.

    ``constraint_values`` holds, for each hard constraint of the experiment on a metric the
    trial measured, how far it is from its bound in Optuna's convention: at or below 0 kept,
    above 0 broken by that much (``{"params_m": 0.3}`` for 0.8 against ``params_m <= 0.5``);
    ``violations`` are the broken ones and ``feasible`` says there are none. An infeasible
    trial has no ``scores`` (nothing ranks it) but keeps its metrics; one that broke a
    constraint before training was not trained and is stored ``pruned`` with the metrics
    measured without training (see :mod:`nasforge.constraints`). The store keeps the metrics
    and the experiment its constraints, so the values are worked out again when trials are
    read back through the experiment (a bare ``Storage`` read leaves them ``{}``).
    """

    number: int
    arch: Arch
    status: TrialStatus
    metrics: Mapping[str, float] = field(default_factory=dict)
    scores: tuple[float, ...] | None = None
    intermediate: Mapping[int, Mapping[str, float]] = field(default_factory=dict)
    seed: int = 0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    worker: str | None = None
    retry_of: int | None = None
    ask_seq: int | None = None
    tell_seq: int | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    constraint_values: Mapping[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """The first objective, larger is better; ``None`` if the trial has none."""
        return self.scores[0] if self.scores else None

    @property
    def violations(self) -> dict[str, float]:
        """``{metric: by how much}`` of each hard constraint the trial breaks (``{}``: none)."""
        return {name: value for name, value in self.constraint_values.items() if value > 0}

    @property
    def feasible(self) -> bool:
        """Whether the trial keeps every hard constraint of its experiment it was checked on."""
        return all(value <= 0 for value in self.constraint_values.values())
