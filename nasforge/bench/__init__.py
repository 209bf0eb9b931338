"""Benchmark harnesses that measure search strategies on tabulated spaces (no training, no torch).

Example:
    >>> from nasforge.bench import run_nb201
    >>> run_nb201(["random"], queries=[5], repeats=1)["random"]["5"]["runs"]
    1
"""

from __future__ import annotations

from nasforge.bench.nb201 import (
    STALE_ASKS,
    NB201Result,
    NB201Trace,
    nb201_traces,
    run_nb201,
    search_nb201,
)

__all__ = ["STALE_ASKS", "NB201Result", "NB201Trace", "nb201_traces", "run_nb201", "search_nb201"]
