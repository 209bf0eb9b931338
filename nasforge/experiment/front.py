"""The Pareto front of an experiment, the hypervolume it covers and how that grew, with the
reference point stated.

A hypervolume means nothing without its reference point, so every number here comes with the
:class:`HypervolumeSetting` it was measured under, and that setting says itself in words
(:meth:`HypervolumeSetting.statement`). Three ways to measure, by what is given:

* nothing: the *normalised* hypervolume, as EvoXBench reports it: each objective mapped to
  [0, 1] by the ideal and nadir points of the experiment's own front (all its complete trials),
  against the reference point 1.1 on every objective (a tenth beyond the nadir). Comparable
  within one experiment; two experiments normalised by their own fronts are not comparable.
* ``ideal`` and ``nadir`` (or ``true_front``, whose ideal and nadir are taken, as EvoXBench does
  with the true front of a benchmark): normalised by those, against 1.1 or against ``reference``
  given in the objectives' own units. Comparable across experiments that use the same points.
* ``reference`` alone: the raw hypervolume in the objectives' own units (e.g. accuracy points
  times millions of parameters) against that point.

The computation is :mod:`nasforge.pareto`'s (moocore); this module picks the points, states the
setting and follows the hypervolume after each complete trial, by trial number and by the time
the trial finished (workers in parallel finish out of number order).

Example:
    >>> from nasforge.objectives import Objectives
    >>> objectives = Objectives.parse({"val_acc": "max", "params_m": "min"})
    >>> rows = [FrontRow(0, (90.0, 1.5), 10.0), FrontRow(1, (85.0, 0.4), 20.0),
    ...         FrontRow(2, (80.0, 0.6), 30.0), FrontRow(3, (92.0, 3.0), 40.0)]
    >>> setting = hypervolume_setting(objectives, [r.values for r in rows])
    >>> round(setting.measure([r.values for r in rows]), 4)
    0.6221
    >>> setting.basis, setting.ideal, setting.nadir, setting.scaled_reference
    ('front', (92.0, 0.4), (85.0, 3.0), (1.1, 1.1))
    >>> setting.reference
    (84.3, 3.26)
    >>> setting.statement().endswith("reference point 1.1 (val_acc 84.3, params_m 3.26)")
    True
    >>> history = hypervolume_history(rows, setting)
    >>> [round(v, 4) for v in history.hypervolume]
    [0.5512, 0.5935, 0.5935, 0.6221]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from nasforge import pareto
from nasforge.errors import ConfigError, counted
from nasforge.objectives import Objectives
from nasforge.trial import Trial, TrialStatus

#: the reference point of a normalised hypervolume, on every objective: a tenth beyond the nadir
NORMALISED_REFERENCE = 1.1

#: whose ideal and nadir a normalised hypervolume uses (``raw``: it is not normalised)
Basis = Literal["front", "true front", "given", "raw"]


@dataclass(frozen=True)
class HypervolumeSetting:
    """How a hypervolume is measured (made by :func:`hypervolume_setting`).

    Attributes:
        objectives: the objectives, in order.
        reference: the reference point in the objectives' own units: a point adds volume only
            where it beats it (above it on a ``max`` objective, below on a ``min`` one).
        ideal: the point that maps each objective to 0 (``None``: a raw hypervolume).
        nadir: the point that maps each objective to 1 (``None``: a raw hypervolume).
        scaled_reference: ``reference`` in normalised units (``None``: a raw hypervolume).
        basis: whose ideal and nadir these are: ``"front"`` (the experiment's own complete
            trials), ``"true front"``, ``"given"``, or ``"raw"`` (no normalisation).
        n_basis: how many points the ideal and nadir were taken from (``front``: complete
            trials; ``true front``: its non-dominated points).
    """

    objectives: Objectives
    reference: tuple[float, ...]
    ideal: tuple[float, ...] | None = None
    nadir: tuple[float, ...] | None = None
    scaled_reference: tuple[float, ...] | None = None
    basis: Basis = "raw"
    n_basis: int = 0

    @property
    def normalised(self) -> bool:
        return self.ideal is not None

    def measure(self, points: ArrayLike) -> float:
        """The hypervolume of ``points`` (raw objective values, one row per point)."""
        directions = self.objectives.directions
        if self.ideal is None or self.nadir is None or self.scaled_reference is None:
            return pareto.hypervolume(points, directions, self.reference)
        return pareto.normalised_hypervolume(
            points, directions, self.ideal, self.nadir, self.scaled_reference
        )

    def statement(self) -> str:
        """The setting in one sentence, for a table, a plot or a log."""
        where = _named(self.objectives, self.reference)
        if self.ideal is None or self.nadir is None:
            return f"raw hypervolume in the objectives' own units, reference point ({where})"
        whose = {
            "front": f"of this experiment's {counted(self.n_basis, 'complete trial')}",
            "true front": f"of the true front ({self.n_basis} points)",
        }.get(self.basis, "as given")
        scaled = self.scaled_reference or ()
        level = _num(scaled[0]) if len(set(scaled)) == 1 else ", ".join(_num(v) for v in scaled)
        flat = [
            n
            for n, a, b in zip(self.objectives.names, self.ideal, self.nadir, strict=True)
            if a == b
        ]
        unscaled = (
            f" (ideal equals nadir on {', '.join(flat)}: measured in its own units from the ideal)"
            if flat
            else ""
        )
        return (
            f"normalised hypervolume: each objective mapped to [0, 1] by the ideal "
            f"({_named(self.objectives, self.ideal)}) and nadir "
            f"({_named(self.objectives, self.nadir)}) {whose}{unscaled}; reference point "
            f"{level} ({where})"
        )

    def to_json(self) -> dict[str, Any]:
        """The setting as JSON: each point by objective name, and the statement."""
        names = self.objectives.names

        def by_name(values: Sequence[float] | None) -> dict[str, float] | None:
            return None if values is None else dict(zip(names, values, strict=True))

        return {
            "normalised": self.normalised,
            "basis": self.basis,
            "n_basis": self.n_basis,
            "reference": by_name(self.reference),
            "scaled_reference": list(self.scaled_reference) if self.scaled_reference else None,
            "ideal": by_name(self.ideal),
            "nadir": by_name(self.nadir),
            "statement": self.statement(),
        }


def _num(value: float) -> str:
    return f"{value:.6g}"


def _named(objectives: Objectives, values: Sequence[float] | None) -> str:
    return ", ".join(f"{n} {_num(v)}" for n, v in zip(objectives.names, values or (), strict=True))


def _point(value: ArrayLike | None, objectives: Objectives, what: str) -> np.ndarray | None:
    """``value`` as one finite number per objective (``None`` stays ``None``)."""
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: expected numbers, got {value!r}") from None
    if array.size != len(objectives) or not np.isfinite(array).all():
        raise ConfigError(
            f"{what}: expected {len(objectives)} finite numbers, one per objective "
            f"({', '.join(objectives.names)}), got {value!r}"
        )
    return array


def hypervolume_setting(
    objectives: Objectives,
    points: ArrayLike,
    reference: ArrayLike | None = None,
    ideal: ArrayLike | None = None,
    nadir: ArrayLike | None = None,
    true_front: ArrayLike | None = None,
) -> HypervolumeSetting | None:
    """The setting to measure ``points`` (raw values of the experiment's complete trials) by,
    from what is given (see the module docstring); ``None`` when nothing is given and there is
    no point to take an ideal and a nadir from.

    ``reference`` is always in the objectives' own units; ``ideal`` and ``nadir`` come together
    and take precedence over ``true_front``'s.
    """
    ref = _point(reference, objectives, "reference")
    low, high = _point(ideal, objectives, "ideal"), _point(nadir, objectives, "nadir")
    if (low is None) != (high is None):
        raise ConfigError("ideal and nadir: give both or neither")
    directions = objectives.directions
    basis: Basis
    if low is not None and high is not None:
        basis, n_basis = "given", 0
    elif true_front is not None:
        low, high = pareto.ideal_nadir(true_front, directions)
        basis, n_basis = "true front", int(pareto.nondominated(true_front, directions).sum())
    elif ref is not None:
        return HypervolumeSetting(objectives, tuple(float(v) for v in ref))
    else:
        array = np.asarray(points, dtype=float).reshape(-1, len(objectives))
        if len(array) == 0:
            return None
        low, high = pareto.ideal_nadir(array, directions)
        basis, n_basis = "front", len(array)
    if ref is None:
        scaled = np.full(len(objectives), NORMALISED_REFERENCE)
        ref = _raw(scaled, directions, low, high)
    else:
        scaled = pareto.normalise(ref[None, :], directions, low, high)[0]
    return HypervolumeSetting(
        objectives,
        tuple(float(v) for v in ref),
        tuple(float(v) for v in low),
        tuple(float(v) for v in high),
        tuple(float(v) for v in scaled),
        basis,
        n_basis,
    )


def _raw(
    scaled: np.ndarray, directions: Sequence[str], ideal: np.ndarray, nadir: np.ndarray
) -> np.ndarray:
    """Normalised values back in the objectives' own units (the inverse of
    :func:`nasforge.pareto.normalise`), rounded off the last bits of float noise."""
    sign = np.where(np.asarray(directions) == "max", -1.0, 1.0)
    low, high = sign * ideal, sign * nadir
    span = np.where(high - low > 0, high - low, 1.0)
    return np.round(sign * (low + scaled * span), 12)


@dataclass(frozen=True)
class FrontRow:
    """A complete trial as the hypervolume sees it: its number, its raw objective values and
    the seconds from the first trial's start to its finish (``None`` when unknown)."""

    number: int
    values: tuple[float, ...]
    elapsed_s: float | None = None


@dataclass(frozen=True)
class HypervolumeHistory:
    """The hypervolume of the complete trials so far, after each complete trial.

    ``number[i]``, ``hypervolume[i]``: by trial number, the hypervolume of the complete trials
    numbered ``number[i]`` or lower. ``elapsed_s[i]``, ``hypervolume_by_time[i]``: by the time
    each complete trial finished (those with a known time; ``number_by_time[i]`` is the trial),
    the hypervolume of the trials that had finished by then.
    """

    number: tuple[int, ...] = ()
    hypervolume: tuple[float, ...] = ()
    elapsed_s: tuple[float, ...] = ()
    hypervolume_by_time: tuple[float, ...] = ()
    number_by_time: tuple[int, ...] = ()

    def to_json(self) -> dict[str, list[Any]]:
        return {
            "number": list(self.number),
            "hypervolume": list(self.hypervolume),
            "elapsed_s": list(self.elapsed_s),
            "hypervolume_by_time": list(self.hypervolume_by_time),
            "number_by_time": list(self.number_by_time),
        }


#: how many rows :func:`_running` screens at once (a block x block comparison)
_BLOCK = 128


def _covered(points: np.ndarray, by: np.ndarray) -> np.ndarray:
    """``[i, j]``: ``by[j]`` is no worse than ``points[i]`` on every objective (minimisation
    form), one objective at a time (contiguous comparisons, no 3-D array)."""
    out = np.ones((len(points), len(by)), dtype=bool)
    for k in range(points.shape[1]):
        out &= by[None, :, k] <= points[:, None, k]
    return out


def _running(points: np.ndarray, setting: HypervolumeSetting) -> np.ndarray:
    """The hypervolume of ``points[: i + 1]`` (raw values, one row per trial) for each ``i``.

    Only a point that no earlier point weakly dominates changes it. Those are found a block of
    points at a time, by comparing the block with the front as the block starts and with the
    block's earlier points (a point dominated by a dominated point is dominated by what
    dominates that one); the front is then updated, and measured again, at those points alone.
    So 20,000 trials cost tens of milliseconds, not a measurement each.
    """
    directions = setting.objectives.directions
    least = pareto.minimisation_form(points, directions)
    before = np.tri(_BLOCK, k=-1, dtype=bool)  # [i, j]: j comes before i
    out = np.empty(len(points))
    front: list[int] = []  # points of the front so far
    volume = 0.0
    for start in range(0, len(points), _BLOCK):
        block = least[start : start + _BLOCK]
        size = len(block)
        covers = _covered(block, np.vstack([least[front], block]))
        covers[:, len(front) :] &= before[:size, :size]
        covered = covers.any(axis=1)
        out[start : start + size] = volume
        for offset in np.flatnonzero(~covered):
            front.append(start + int(offset))
            keep = pareto.nondominated(points[front], directions)
            front = [i for i, kept in zip(front, keep, strict=True) if kept]
            volume = setting.measure(points[front])
            out[start + offset : start + size] = volume
    return out


def hypervolume_series(
    numbers: ArrayLike,
    values: ArrayLike,
    elapsed_s: ArrayLike,
    setting: HypervolumeSetting | None,
) -> HypervolumeHistory:
    """:func:`hypervolume_history` of complete trials given as arrays: their ``numbers``, raw
    ``values`` (one row each) and ``elapsed_s`` (NaN where unknown); no object per trial."""
    number = np.asarray(numbers, dtype=int).reshape(-1)
    if setting is None or not len(number):
        return HypervolumeHistory()
    order = np.argsort(number, kind="stable")
    number = number[order]
    points = np.asarray(values, dtype=float).reshape(len(order), -1)[order]
    elapsed = np.asarray(elapsed_s, dtype=float).reshape(-1)[order]
    volumes = _running(points, setting)
    known = np.flatnonzero(np.isfinite(elapsed))
    timed = known[np.lexsort((number[known], elapsed[known]))]  # by time, then number
    if np.array_equal(timed, np.arange(len(number))):  # finished in number order
        by_time = volumes
    else:
        by_time = _running(points[timed], setting)
    return HypervolumeHistory(
        tuple(number.tolist()),
        tuple(volumes.tolist()),
        tuple(elapsed[timed].tolist()),
        tuple(by_time.tolist()),
        tuple(number[timed].tolist()),
    )


def hypervolume_history(
    rows: Sequence[FrontRow], setting: HypervolumeSetting | None
) -> HypervolumeHistory:
    """How the hypervolume of ``rows`` (complete trials) grew, by number and by finish time."""
    return hypervolume_series(
        [r.number for r in rows],
        [r.values for r in rows],
        [np.nan if r.elapsed_s is None else r.elapsed_s for r in rows],
        setting,
    )


def needs_two_objectives(objectives: Mapping[str, str], name: str = "") -> None:
    """Refuse a front of fewer than two objectives, in one line naming them."""
    if len(objectives) < 2:
        label = f"experiment {name!r}" if name else "these trials"
        raise ConfigError(
            f"a Pareto front needs 2 objectives; the objectives of {label}: {', '.join(objectives)}"
        )


@dataclass(frozen=True)
class ParetoSummary:
    """The front of an experiment and what it covers (made by :func:`pareto_summary`).

    Attributes:
        name: the experiment's name.
        objectives: its objectives.
        front: the complete trials no other complete trial beats on every objective, best
            first on the primary objective (ties: the lower number).
        values: each front trial's raw objective values, in the objectives' order.
        n_complete: how many complete trials (with every objective) the front was chosen from.
        hypervolume: the hypervolume of the front under ``setting`` (0 without a complete
            trial).
        setting: how it was measured; ``None`` without a complete trial to normalise by.
        igd: the inverted generational distance from the complete trials to ``true_front``, in
            the setting's normalised units (``None`` without a true front).
        history: the hypervolume after each complete trial (:class:`HypervolumeHistory`).
    """

    name: str
    objectives: Objectives
    front: tuple[Trial, ...]
    values: tuple[tuple[float, ...], ...]
    n_complete: int
    hypervolume: float
    setting: HypervolumeSetting | None
    igd: float | None
    history: HypervolumeHistory

    def to_json(self) -> dict[str, Any]:
        """One JSON object: the front's trials, the hypervolume with its setting, the history."""
        names = self.objectives.names
        return {
            "experiment": self.name,
            "objectives": self.objectives.to_json(),
            "n_complete": self.n_complete,
            "front": [
                {"number": t.number, "arch": t.arch.key, "values": dict(zip(names, v, strict=True))}
                for t, v in zip(self.front, self.values, strict=True)
            ],
            "hypervolume": self.hypervolume,
            "setting": self.setting.to_json() if self.setting else None,
            "igd": self.igd if self.igd is not None and math.isfinite(self.igd) else None,
            "history": self.history.to_json(),
        }


def raw_values(trial: Trial, objectives: Objectives) -> tuple[float, ...] | None:
    """A trial's final value of each objective in its own units, from its metrics; ``None``
    when one is missing or not finite."""
    if objectives.scores(trial.metrics) is None:
        return None
    return tuple(float(trial.metrics[name]) for name in objectives.names)


def pareto_summary(
    trials: Sequence[Trial],
    objectives: Objectives | Mapping[str, str],
    name: str = "",
    reference: ArrayLike | None = None,
    ideal: ArrayLike | None = None,
    nadir: ArrayLike | None = None,
    true_front: ArrayLike | None = None,
) -> ParetoSummary:
    """The :class:`ParetoSummary` of the complete, feasible ones of ``trials`` (an
    experiment's stored trials: one that breaks a hard constraint is stored without scores) on
    ``objectives``; ``reference``, ``ideal``, ``nadir`` and ``true_front`` (raw
    values, one row per point) say how the hypervolume is measured (see the module docstring).
    """
    objectives = Objectives.parse(objectives)
    needs_two_objectives(objectives, name)
    scored = [
        (t, raw_values(t, objectives))
        for t in trials
        if t.status == TrialStatus.COMPLETE and t.scores is not None and t.feasible
    ]
    done = sorted(((t, v) for t, v in scored if v is not None), key=lambda tv: tv[0].number)
    values = np.array([v for _, v in done], dtype=float).reshape(-1, len(objectives))
    setting = hypervolume_setting(objectives, values, reference, ideal, nadir, true_front)
    mask = pareto.nondominated(values, objectives.directions)
    primary = objectives.primary
    front = sorted(
        (tv for tv, keep in zip(done, mask, strict=True) if keep),
        key=lambda tv: (-objectives.oriented(primary, tv[1][0]), tv[0].number),
    )
    volume = setting.measure([v for _, v in front]) if setting is not None and front else 0.0
    distance = None
    if true_front is not None and setting is not None:
        distance = pareto.igd(
            values, true_front, objectives.directions, setting.ideal, setting.nadir
        )
    starts = [t.started_at for t in trials if t.started_at is not None]
    origin = min(starts) if starts else None
    rows = [
        FrontRow(
            t.number,
            v,
            None
            if origin is None or t.finished_at is None
            else (t.finished_at - origin).total_seconds(),
        )
        for t, v in done
    ]
    return ParetoSummary(
        name,
        objectives,
        tuple(t for t, _ in front),
        tuple(v for _, v in front),
        len(done),
        volume,
        setting,
        distance,
        hypervolume_history(rows, setting),
    )


__all__ = [
    "NORMALISED_REFERENCE",
    "FrontRow",
    "HypervolumeHistory",
    "HypervolumeSetting",
    "ParetoSummary",
    "hypervolume_history",
    "hypervolume_series",
    "hypervolume_setting",
    "needs_two_objectives",
    "pareto_summary",
    "raw_values",
]
