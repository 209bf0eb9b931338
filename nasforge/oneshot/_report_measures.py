"""The measurements of an honesty report, each on plain values: the operation histogram of an
architecture and whether it collapsed, the archs to train alone, the rank agreement."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from nasforge.errors import ConfigError
from nasforge.space import Arch

#: the role of the derived architecture in the report's rows
DERIVED = "derived"


def op_histogram(arch: Arch, op_dims: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """How often each operation is chosen by ``arch``'s active operation dimensions.

    ``op_dims`` maps each dimension that picks an operation to its candidates (a dimension the
    arch does not set, being inactive, is skipped). Most frequent first, then in the order of
    the candidates.

    Example:
        >>> arch = Arch({"edge_1_0": "conv", "edge_2_0": "skip", "edge_2_1": "skip", "lr": 0.1})
        >>> op_histogram(arch, {f"edge_{e}": ["conv", "skip"] for e in ("1_0", "2_0", "2_1")})
        {'skip': 2, 'conv': 1}
    """
    order: dict[str, int] = {}
    for candidates in op_dims.values():
        for name in candidates:
            order.setdefault(str(name), len(order))
    counts = Counter(str(arch[label]) for label in op_dims if label in arch)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order)))))


def collapse_check(
    histogram: Mapping[str, int],
    parameter_free: set[str] | frozenset[str],
    threshold: float = 0.5,
    *,
    advice: str | None = None,
) -> tuple[float, bool, str | None]:
    """The share of parameter-free choices in ``histogram``, whether it is above
    ``threshold`` (the supernet may have collapsed) and, if so, a warning in words ending with
    ``advice`` (what to try instead; a general hint when ``None``).

    Example:
        >>> share, collapsed, warning = collapse_check(
        ...     {"skip_connect": 5, "conv": 2, "max_pool_3x3": 1}, {"skip_connect", "max_pool_3x3"}
        ... )
        >>> share, collapsed
        (0.75, True)
        >>> print(warning)  # doctest: +NORMALIZE_WHITESPACE
        6 of 8 operation choices of the derived architecture are parameter-free (skip_connect 5,
        max_pool_3x3 1): the supernet may have collapsed (Zela et al. 2020; the DARTS collapse);
        compare its standalone accuracy with the other architectures' before trusting it
    """
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold={threshold!r} must be a share between 0 and 1")
    total = sum(histogram.values())
    free = {op: n for op, n in histogram.items() if op in parameter_free and n > 0}
    share = sum(free.values()) / total if total else 0.0
    collapsed = total > 0 and share > threshold
    if not collapsed:
        return share, False, None
    listed = ", ".join(f"{op} {n}" for op, n in free.items())
    advice = advice or (
        "compare its standalone accuracy with the other architectures' before trusting it"
    )
    warning = (
        f"{sum(free.values())} of {total} operation choices of the derived architecture are "
        f"parameter-free ({listed}): the supernet may have collapsed (Zela et al. 2020; the "
        f"DARTS collapse); {advice}"
    )
    return share, True, warning


def pick_for_report(
    ranked: Sequence[tuple[Arch, float]], derived: Arch, k: int
) -> list[tuple[Arch, float, str]]:
    """The derived arch and ``k - 1`` others spread evenly over the supernet's ranking.

    ``ranked`` holds the supernet's estimates, best first (a repeated key counts once, at its
    first place). The others include the best and the worst ranked arch (``k - 1 = 1``: the
    best) and never the derived one again. Returns ``(arch, estimate, role)``, the derived
    first (its estimate NaN when ``ranked`` lacks it), then the others best to worst, each with
    the role ``"ranked #i of N"``.

    Example:
        >>> ranked = [(Arch({"x": i}), 90.0 - i) for i in range(10)]
        >>> [(a["x"], role) for a, _, role in pick_for_report(ranked, ranked[0][0], 4)]
        [(0, 'derived'), (1, 'ranked #2 of 10'), (5, 'ranked #6 of 10'), (9, 'ranked #10 of 10')]
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"k={k!r} must be a whole number >= 1 (the derived arch counts)")
    distinct: dict[str, tuple[int, Arch, float]] = {}
    for arch, estimate in ranked:
        distinct.setdefault(arch.key, (len(distinct), arch, float(estimate)))
    n = len(distinct)
    own = distinct.get(derived.key)
    chosen = [(derived, own[2] if own else math.nan, DERIVED)]
    others = [entry for key, entry in distinct.items() if key != derived.key]
    want = min(k - 1, len(others))
    if want > 0:
        places = np.unique(np.round(np.linspace(0, len(others) - 1, want)).astype(int))
        for place in places:
            rank, arch, estimate = others[int(place)]
            chosen.append((arch, estimate, f"ranked #{rank + 1} of {n}"))
    return chosen


def rank_correlations(
    estimates: Sequence[float], standalone: Sequence[float]
) -> tuple[float | None, float | None]:
    """Kendall's tau and Spearman's rho between paired values (NaN pairs left out); ``None``
    for fewer than 3 pairs or a constant side.

    Example:
        >>> tau, rho = rank_correlations([1, 2, 3, 4], [10, 30, 20, 40])
        >>> round(tau, 3), round(rho, 3)
        (0.667, 0.8)
        >>> rank_correlations([1, 2], [3, 4])
        (None, None)
    """
    pairs = _pairs(estimates, standalone)
    if pairs is None:
        return None, None
    from scipy import stats

    xs, ys = pairs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = float(stats.kendalltau(xs, ys).statistic)
        rho = float(stats.spearmanr(xs, ys).statistic)
    return (tau if math.isfinite(tau) else None), (rho if math.isfinite(rho) else None)


def tau_p_value(estimates: Sequence[float], standalone: Sequence[float]) -> float | None:
    """The two-sided p-value of Kendall's tau between paired values (NaN pairs left out): how
    likely a tau at least this far from 0 is when the two rankings are unrelated. ``None`` where
    :func:`rank_correlations` gives none. Over 5 archs even tau 0.6 has p 0.23; over 30 archs
    the standard error of tau is about 0.13.

    Example:
        >>> round(tau_p_value([1, 2, 3, 4, 5], [2, 1, 3, 5, 4]), 3)  # tau 0.6 over 5
        0.233
        >>> tau_p_value([1, 2], [3, 4]) is None
        True
    """
    pairs = _pairs(estimates, standalone)
    if pairs is None:
        return None
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = float(stats.kendalltau(*pairs).pvalue)
    return p if math.isfinite(p) else None


def _pairs(
    estimates: Sequence[float], standalone: Sequence[float]
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Both sides without NaN pairs; ``None`` for fewer than 3 pairs or a constant side."""
    pairs = [
        (float(a), float(b))
        for a, b in zip(estimates, standalone, strict=True)
        if math.isfinite(float(a)) and math.isfinite(float(b))
    ]
    if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
        return None
    xs, ys = zip(*pairs, strict=True)
    return xs, ys


__all__ = [
    "DERIVED",
    "collapse_check",
    "op_histogram",
    "pick_for_report",
    "rank_correlations",
    "tau_p_value",
]
