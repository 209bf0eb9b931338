"""Pareto tools: who is non-dominated, by how much a front covers, how far it is from the truth.

Every function takes raw metric values, one row per point and one column per objective, with
the objectives' ``directions`` (``"max"`` or ``"min"`` per column, as in
:class:`~nasforge.objectives.Objectives`); nothing here needs them turned around first.
Dominance, ranks, hypervolume and IGD are computed by `moocore
<https://multi-objective.github.io/moocore/python/>`_, a maintained C library; what is the
substance of the NAS methods (crowding, the normalisation a benchmark states) is written here.

Normalised indicators follow EvoXBench (Lu et al. 2023): each objective is mapped to [0, 1] by
the *ideal* point (best value of each objective over a reference front, usually the true one) and
the *nadir* point (its worst value over that front), minimisation form (0 = ideal, 1 = nadir),
and the hypervolume is taken against the reference point ``(1.1, ..., 1.1)`` by default (a
tenth beyond the nadir, so that the front's extreme points count too): the true front's own
normalised hypervolume is then the most any search can reach, and a point more than a tenth
worse than the nadir on some objective adds nothing.

Example:
    >>> points = [[90.0, 1.5], [85.0, 0.4], [80.0, 0.6], [92.0, 3.0]]  # val_acc max, params min
    >>> directions = ("max", "min")
    >>> nondominated(points, directions).tolist()
    [True, True, False, True]
    >>> pareto_ranks(points, directions).tolist()
    [0, 0, 1, 0]
    >>> ideal, nadir = ideal_nadir(points, directions)
    >>> ideal.tolist(), nadir.tolist()
    ([92.0, 0.4], [85.0, 3.0])
    >>> round(normalised_hypervolume(points, directions, ideal, nadir), 4)
    0.6221
    >>> igd([[92.0, 3.0]], points, directions, ideal, nadir) > 0
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
from numpy.typing import ArrayLike

from nasforge.errors import ConfigError, one_of
from nasforge.objectives import DIRECTIONS


def _points(points: ArrayLike, directions: Sequence[str], what: str = "points") -> np.ndarray:
    array = np.asarray(points, dtype=float)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, len(directions))
    if array.ndim != 2 or array.shape[1] != len(directions):
        raise ConfigError(
            f"{what}: expected rows of {len(directions)} values (one per objective), got an "
            f"array of shape {array.shape}"
        )
    for direction in directions:
        if direction not in DIRECTIONS:
            raise ConfigError(f"directions: {direction!r} is not allowed; use {one_of(DIRECTIONS)}")
    if not np.isfinite(array).all():
        raise ConfigError(f"{what}: every value must be finite (drop unfinished trials first)")
    return array


def _maximise(directions: Sequence[str]) -> list[bool]:
    return [d == "max" for d in directions]


def minimisation_form(points: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """``points`` with every ``"max"`` column negated, so that smaller is better everywhere."""
    array = _points(points, directions)
    return np.where(np.asarray(_maximise(directions)), -array, array)


def nondominated(points: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """A boolean mask of the points no other point dominates (no worse on every objective and
    better on one). Duplicates of a non-dominated point are all kept."""
    array = _points(points, directions)
    if len(array) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(
        moocore.is_nondominated(array, maximise=_maximise(directions), keep_weakly=True)
    )


def pareto_ranks(points: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """Each point's non-dominated sorting rank: 0 for the front, 1 for the front of the rest,
    and so on (Deb et al. 2002)."""
    array = _points(points, directions)
    if len(array) == 0:
        return np.zeros(0, dtype=int)
    return np.asarray(moocore.pareto_rank(array, maximise=_maximise(directions)), dtype=int)


def crowding_distance(points: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """NSGA-II's crowding distance of each point within its set: the sum over objectives of the
    gap between its two neighbours, divided by the objective's range; the extremes of every
    objective get ``inf`` so that they are always kept. Larger means more isolated."""
    array = minimisation_form(points, directions)
    n = len(array)
    distance = np.zeros(n)
    if n <= 2:
        distance[:] = np.inf
        return distance
    for column in array.T:
        order = np.argsort(column, kind="stable")
        span = column[order[-1]] - column[order[0]]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span <= 0:
            continue
        gaps = (column[order[2:]] - column[order[:-2]]) / span
        distance[order[1:-1]] += gaps
    return distance


def ideal_nadir(front: ArrayLike, directions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ideal point (best value of each objective) and the nadir point (worst value of each
    objective among the non-dominated points) of ``front``, in raw units."""
    array = _points(front, directions, "front")
    if len(array) == 0:
        raise ConfigError("front: needs at least one point to have an ideal and a nadir")
    best = array[nondominated(array, directions)]
    maximise = np.asarray(_maximise(directions))
    ideal = np.where(maximise, best.max(axis=0), best.min(axis=0))
    nadir = np.where(maximise, best.min(axis=0), best.max(axis=0))
    return ideal, nadir


def normalise(
    points: ArrayLike, directions: Sequence[str], ideal: ArrayLike, nadir: ArrayLike
) -> np.ndarray:
    """``points`` mapped so that the ideal point is 0 and the nadir point 1 on every objective
    (minimisation form; a point worse than the nadir is above 1). An objective whose ideal equals
    its nadir is measured in its own units from the ideal."""
    array = minimisation_form(points, directions)
    low = minimisation_form(np.atleast_2d(ideal), directions)[0]
    high = minimisation_form(np.atleast_2d(nadir), directions)[0]
    span = np.where(high - low > 0, high - low, 1.0)
    return (array - low) / span


def hypervolume(points: ArrayLike, directions: Sequence[str], reference: ArrayLike) -> float:
    """The hypervolume ``points`` dominate up to the ``reference`` point, in raw units (the
    reference is a point every counted point must beat: below it on a ``"min"`` objective,
    above it on a ``"max"`` one). Points that do not beat it add nothing."""
    array = _points(points, directions)
    ref = _points(np.atleast_2d(reference), directions, "reference")[0]
    if len(array) == 0:
        return 0.0
    return float(moocore.hypervolume(array, ref=ref, maximise=_maximise(directions)))


def normalised_hypervolume(
    points: ArrayLike,
    directions: Sequence[str],
    ideal: ArrayLike,
    nadir: ArrayLike,
    reference: float | Sequence[float] = 1.1,
) -> float:
    """The hypervolume of ``points`` after :func:`normalise` by ``ideal`` and ``nadir``, against
    ``reference`` (per objective, in normalised units; default 1.1: a tenth beyond the nadir)."""
    scaled = normalise(points, directions, ideal, nadir)
    ref = np.broadcast_to(np.asarray(reference, dtype=float), (len(directions),))
    if len(scaled) == 0:
        return 0.0
    return float(moocore.hypervolume(scaled, ref=ref))


def igd(
    points: ArrayLike,
    front: ArrayLike,
    directions: Sequence[str],
    ideal: ArrayLike | None = None,
    nadir: ArrayLike | None = None,
) -> float:
    """Inverted generational distance: the mean distance from each point of the known ``front``
    to the nearest of ``points`` (0 when ``points`` contain the front), in the normalised units of
    ``ideal`` and ``nadir`` (default: those of ``front``). Smaller is better."""
    reference_front = _points(front, directions, "front")
    if ideal is None or nadir is None:
        ideal, nadir = ideal_nadir(reference_front, directions)
    scaled = normalise(points, directions, ideal, nadir)
    if len(scaled) == 0:
        return float("inf")
    truth = normalise(reference_front, directions, ideal, nadir)
    return float(moocore.igd(scaled, ref=truth))


__all__ = [
    "crowding_distance",
    "hypervolume",
    "ideal_nadir",
    "igd",
    "minimisation_form",
    "nondominated",
    "normalise",
    "normalised_hypervolume",
    "pareto_ranks",
]
