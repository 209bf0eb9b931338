"""nasforge.pareto against brute force on random points."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasforge import pareto
from nasforge.errors import ConfigError

DIRECTIONS = [("max", "min"), ("min", "min"), ("max", "max", "min")]


def _better(a: np.ndarray, b: np.ndarray, directions: tuple[str, ...]) -> bool:
    """Brute force: a dominates b."""
    sign = np.array([1.0 if d == "max" else -1.0 for d in directions])
    return bool(np.all(a * sign >= b * sign) and np.any(a * sign > b * sign))


def _brute_ranks(points: np.ndarray, directions: tuple[str, ...]) -> list[int]:
    ranks = [-1] * len(points)
    left = set(range(len(points)))
    rank = 0
    while left:
        front = {
            i for i in left if not any(_better(points[j], points[i], directions) for j in left)
        }
        for i in front:
            ranks[i] = rank
        left -= front
        rank += 1
    return ranks


def _grid_hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Brute force for integer points in minimisation form: count unit boxes dominated."""
    count = 0
    for cell in itertools.product(*(range(int(r)) for r in reference)):
        corner = np.asarray(cell, dtype=float)
        if any(np.all(p <= corner) for p in points):
            count += 1
    return float(count)


point_sets = st.integers(1, 25).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 6), min_size=3, max_size=3), min_size=n, max_size=n)
)


@settings(max_examples=60, deadline=None)
@given(point_sets, st.sampled_from(DIRECTIONS))
def test_ranks_and_front_match_brute_force(rows: list[list[int]], directions: tuple[str, ...]):
    points = np.asarray(rows, dtype=float)[:, : len(directions)]
    brute = _brute_ranks(points, directions)
    assert pareto.pareto_ranks(points, directions).tolist() == brute
    assert pareto.nondominated(points, directions).tolist() == [r == 0 for r in brute]


@settings(max_examples=40, deadline=None)
@given(point_sets)
def test_hypervolume_matches_counting_unit_boxes(rows: list[list[int]]):
    points = np.asarray(rows, dtype=float)  # integers 0..6, minimised, reference 7
    reference = np.full(3, 7.0)
    expected = _grid_hypervolume(points, reference)
    assert pareto.hypervolume(points, ("min", "min", "min"), reference) == pytest.approx(expected)
    # the same points as maximised objectives, mirrored, give the same volume
    mirrored = -points
    maximised = ("max", "max", "max")
    assert pareto.hypervolume(mirrored, maximised, -reference) == pytest.approx(expected)


def test_normalised_hypervolume_of_the_true_front_is_the_largest():
    rng = np.random.default_rng(0)
    points = rng.uniform(size=(200, 2)) * [100.0, 2.0]
    directions = ("max", "min")
    front = points[pareto.nondominated(points, directions)]
    ideal, nadir = pareto.ideal_nadir(points, directions)
    best = pareto.normalised_hypervolume(front, directions, ideal, nadir)
    for size in (1, 5, 50):
        subset = points[rng.choice(len(points), size, replace=False)]
        assert pareto.normalised_hypervolume(subset, directions, ideal, nadir) <= best + 1e-12
    assert pareto.igd(front, front, directions) == 0.0
    assert pareto.igd(points[:3], front, directions) > 0.0


def test_normalise_maps_ideal_to_zero_and_nadir_to_one():
    directions = ("max", "min")
    scaled = pareto.normalise([[90.0, 1.0], [80.0, 3.0]], directions, [90.0, 1.0], [80.0, 3.0])
    assert scaled.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_crowding_distance_keeps_extremes_and_ranks_isolation():
    points = np.array([[0.0, 10.0], [1.0, 9.0], [2.0, 8.5], [8.0, 1.0], [10.0, 0.0]])
    distance = pareto.crowding_distance(points, ("min", "min"))
    assert np.isinf(distance[0]) and np.isinf(distance[-1])
    assert distance[3] > distance[1]  # the lone point in the middle is the most isolated


def test_bad_input_names_the_field():
    with pytest.raises(ConfigError, match="points: expected rows of 2 values"):
        pareto.nondominated([[1.0, 2.0, 3.0]], ("max", "min"))
    with pytest.raises(ConfigError, match="directions: 'up' is not allowed"):
        pareto.nondominated([[1.0, 2.0]], ("max", "up"))
    with pytest.raises(ConfigError, match="must be finite"):
        pareto.hypervolume([[np.nan, 1.0]], ("max", "min"), [0.0, 2.0])
