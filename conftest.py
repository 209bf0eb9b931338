"""Pytest settings for every run from the repository: the test suite (``tests/``) and the
docstring examples (``python -m pytest --doctest-modules nasforge``)."""

from __future__ import annotations

import os

import pytest

#: the most worker processes ``-n auto`` starts: each imports torch (a few hundred MB), and the
#: tests that start worker processes of their own need cores left for them
MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): one worker per core this process may use, at most
    ``MAX_WORKERS``. ``-n 0`` runs the suite in this process, as without xdist."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cores = len(usable) if usable else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_WORKERS))
