"""A conformance check every early-stopping scheduler passes, with parallel workers and resume.

:func:`simulate` drives a scheduler with the interleaved reports of several concurrent trials
(``workers`` trials run at once; a seeded generator picks which one reports next, so trial 5 may
report step 1 while trials 2-4 are at step 3) on synthetic curves. At each report it also asks
an *oracle*: a direct, slow restatement of the scheduler's rule over the event history, written
apart from the scheduler's code. :func:`check_scheduler` asserts the two agree on every report,
that the rule both stopped and kept trials, and that a fresh scheduler rebuilt by
:meth:`~nasforge.schedulers.Scheduler.replay` from the stored trials (as a resumed
experiment does) takes the same decisions as the live one from then on.

A new scheduler gets its oracle in :data:`ORACLES`; the shared test fails for a registered
scheduler without one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasforge.schedulers import Scheduler, create_scheduler
from nasforge.space import Arch
from nasforge.trial import Trial, TrialStatus


@dataclass(frozen=True)
class Event:
    """``kind`` is ``report``, ``complete`` or ``pruned``; ``value`` is larger-is-better."""

    kind: str
    number: int
    step: int = 0
    value: float = math.nan


@dataclass
class Simulation:
    """What a simulated search did: its events, its decisions and the oracle's, its trials."""

    events: list[Event] = field(default_factory=list)
    decisions: list[tuple[int, int, bool]] = field(default_factory=list)
    expected: list[tuple[int, int, bool]] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)

    @property
    def stopped(self) -> set[int]:
        return {t.number for t in self.trials if t.status == TrialStatus.PRUNED}

    @property
    def completed(self) -> set[int]:
        return {t.number for t in self.trials if t.status == TrialStatus.COMPLETE}


#: oracle(options, max_step, history, number, step, value, finals) -> stop?
Oracle = Callable[
    [Mapping[str, Any], int, Sequence[Event], int, int, float, Mapping[int, float]], bool
]


def random_curves(n: int, max_step: int, seed: int) -> list[list[float]]:
    """Saturating curves ``q - a / step`` with random final level ``q`` and speed ``a``."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(50.0, 95.0, size=n)
    a = rng.uniform(5.0, 40.0, size=n)
    return [[float(q[i] - a[i] / s) for s in range(1, max_step + 1)] for i in range(n)]


def two_class_curves(n: int, max_step: int, seed: int) -> list[list[float]]:
    """Good trials (one curve, final 90) and bad ones (finals 40-60), told apart from step 1."""
    rng = np.random.default_rng(seed)
    good = [90.0 - 20.0 / s for s in range(1, max_step + 1)]
    curves = []
    for i in range(n):
        if i % 3 == 0:
            curves.append(list(good))
        else:
            q, a = rng.uniform(40.0, 60.0), rng.uniform(5.0, 20.0)
            curves.append([float(q - a / s) for s in range(1, max_step + 1)])
    return curves


def simulate(
    scheduler: Scheduler,
    curves: Sequence[Sequence[float]],
    workers: int = 4,
    seed: int = 0,
    oracle: Callable[[Sequence[Event], int, int, float], bool] | None = None,
    first_number: int = 0,
    history: Sequence[Event] = (),
) -> Simulation:
    """Run ``curves`` as trials ``first_number, ...`` through ``scheduler``, ``workers`` at once."""
    rng = np.random.default_rng(seed)
    sim = Simulation(events=list(history))
    queue = list(enumerate(curves, start=first_number))
    active: list[tuple[int, Sequence[float], int]] = []  # (number, curve, steps done)
    tell_seq = 10_000 * (first_number + 1)
    while queue or active:
        while queue and len(active) < workers:
            number, curve = queue.pop(0)
            active.append((number, curve, 0))
        i = int(rng.integers(len(active)))
        number, curve, done = active[i]
        step = done + 1
        value = float(curve[step - 1])
        if oracle is not None:
            sim.expected.append((number, step, oracle(sim.events, number, step, value)))
        sim.events.append(Event("report", number, step, value))
        stop = scheduler.report(number, step, {"value": value}, None)
        sim.decisions.append((number, step, stop))
        if stop or step == len(curve):
            del active[i]
            status = TrialStatus.PRUNED if stop else TrialStatus.COMPLETE
            trial = Trial(
                number,
                Arch({"trial": number}),
                status,
                metrics={"value": value},
                intermediate={s: {"value": float(curve[s - 1])} for s in range(1, step + 1)},
                tell_seq=tell_seq,
            )
            tell_seq += 1
            sim.events.append(Event(status.value, number, step, value))
            scheduler.complete(trial)
            sim.trials.append(trial)
        else:
            active[i] = (number, curve, step)
    return sim


# ---- oracles: each rule restated directly over the event history ----------------------------


def _curves(history: Sequence[Event]) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    for e in history:
        if e.kind == "report":
            out.setdefault(e.number, {})[e.step] = e.value
    return out


def _completed(history: Sequence[Event]) -> list[int]:
    return [e.number for e in history if e.kind == "complete"]


def median_oracle(
    options: Mapping[str, Any],
    max_step: int,
    history: Sequence[Event],
    number: int,
    step: int,
    value: float,
    finals: Mapping[int, float],
) -> bool:
    if step >= max_step or step <= options.get("warmup_steps", 0):
        return False
    curves = _curves(history)
    averages = []
    for n in _completed(history):
        upto = [v for s, v in curves[n].items() if s <= step]
        if upto:
            averages.append(sum(upto) / len(upto))
    if len(averages) < options.get("min_trials", 5):
        return False
    mine = [v for s, v in curves.get(number, {}).items() if s <= step] + [value]
    return max(mine) < float(np.median(averages))


def _rung_oracle(
    rungs: list[int], eta: int, history: Sequence[Event], step: int, value: float, members: set[int]
) -> bool:
    if step not in rungs:
        return False
    at_rung = [
        e.value for e in history if e.kind == "report" and e.step == step and e.number in members
    ] + [value]
    keep = max(1, len(at_rung) // eta)
    return value < sorted(at_rung, reverse=True)[keep - 1]


def asha_oracle(
    options: Mapping[str, Any],
    max_step: int,
    history: Sequence[Event],
    number: int,
    step: int,
    value: float,
    finals: Mapping[int, float],
) -> bool:
    eta, first = options.get("reduction_factor", 3), options.get("min_step", 1)
    rungs = [first * eta**k for k in range(20) if first * eta**k < max_step]
    everyone = {e.number for e in history}
    return _rung_oracle(rungs, eta, history, step, value, everyone)


def hyperband_oracle(
    options: Mapping[str, Any],
    max_step: int,
    history: Sequence[Event],
    number: int,
    step: int,
    value: float,
    finals: Mapping[int, float],
) -> bool:
    eta, first = options.get("reduction_factor", 3), options.get("min_step", 1)
    s_max = math.floor(math.log(max_step / first, eta) + 1e-9)
    sizes = [math.ceil((s_max + 1) / (s + 1) * eta**s) for s in range(s_max, -1, -1)]
    brackets = [b for b, size in enumerate(sizes) for _ in range(size)]

    def bracket(n: int) -> int:
        return brackets[n % len(brackets)]

    start = first * eta ** bracket(number)
    rungs = [start * eta**k for k in range(20) if start * eta**k < max_step]
    same = {e.number for e in history if bracket(e.number) == bracket(number)}
    return _rung_oracle(rungs, eta, history, step, value, same)


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def nsga2_order(points: Sequence[Sequence[float]]) -> list[int]:
    """NSGA-II's order of ``points`` (larger-is-better), restated by brute force: peel off the
    non-dominated fronts, order each by crowding distance (extremes of every objective first),
    then by the objectives in order and by index."""
    remaining = list(range(len(points)))
    order: list[int] = []
    while remaining:
        front = [
            i for i in remaining if not any(_dominates(points[j], points[i]) for j in remaining)
        ]
        crowding = {i: 0.0 for i in front}
        for m in range(len(points[0]) if points else 0):
            ranked = sorted(front, key=lambda i: (-points[i][m], front.index(i)))
            low, high = points[ranked[-1]][m], points[ranked[0]][m]
            crowding[ranked[0]] = crowding[ranked[-1]] = math.inf
            for k in range(1, len(ranked) - 1):
                if high > low:
                    gap = points[ranked[k - 1]][m] - points[ranked[k + 1]][m]
                    crowding[ranked[k]] += gap / (high - low)
        if len(front) <= 2:
            crowding = {i: math.inf for i in front}
        order += sorted(front, key=lambda i: (-crowding[i], *(-v for v in points[i]), i))
        remaining = [i for i in remaining if i not in front]
    return order


def moasha_oracle(
    options: Mapping[str, Any],
    max_step: int,
    history: Sequence[Event],
    number: int,
    step: int,
    value: float,
    finals: Mapping[int, float],
) -> bool:
    """MOASHA's rule on one objective (the simulation's): the rung's values in arrival order
    ordered as NSGA-II does; the reporting trial goes on if among the first ``n // eta``."""
    eta, first = options.get("reduction_factor", 3), options.get("min_step", 1)
    rungs = [first * eta**k for k in range(20) if first * eta**k < max_step]
    if step not in rungs:
        return False
    at_rung = [(e.value,) for e in history if e.kind == "report" and e.step == step]
    at_rung.append((value,))
    keep = max(1, len(at_rung) // eta)
    return len(at_rung) - 1 not in nsga2_order(at_rung)[:keep]


def learning_curve_oracle(
    options: Mapping[str, Any],
    max_step: int,
    history: Sequence[Event],
    number: int,
    step: int,
    value: float,
    finals: Mapping[int, float],
) -> bool:
    """Baker et al.'s rule with the default (residual) uncertainty, refitted at each report.

    The completed trials (by number) give one row per curve: its first ``step`` values, their
    first and second differences; target its final value. ``n_models`` ``NuSVR`` on bootstrap
    samples (generator seeded ``[seed, step, n]``) predict the reporting trial's final value;
    each completed curve is also predicted by the models that left it out of their sample, and
    its residual (final minus that prediction) kept. The final value is the ensemble mean plus
    a residual drawn at random, blurred by a Gaussian of width ``hypot(ensemble spread,
    0.9 · min(sd, IQR / 1.349) · n^-1/5)`` of the residuals. Stop when that puts less than
    ``delta`` probability above the best completed final.
    """
    from scipy.stats import norm
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import NuSVR

    if step >= max_step or step < options.get("min_step", 1):
        return False
    done = sorted(_completed(history))
    if len(done) < options.get("min_trials", 10):
        return False
    curves = _curves(history)

    def row(values: list[float]) -> list[float]:
        v = np.array(values)
        return [*v, *np.diff(v), *np.diff(v, n=2)]

    x = np.array([row([curves[n][s] for s in range(1, step + 1)]) for n in done])
    y = np.array([finals[n] for n in done])
    mine = [v for s, v in sorted(curves.get(number, {}).items()) if s < step] + [value]
    x_scale, y_scale = StandardScaler().fit(x), StandardScaler().fit(y[:, None])
    xs, ys = x_scale.transform(x), y_scale.transform(y[:, None])[:, 0]
    rng = np.random.default_rng([options.get("seed", 0), step, len(y)])
    point: list[float] = []
    held: dict[int, list[float]] = {i: [] for i in range(len(y))}
    for _ in range(options.get("n_models", 10)):
        sample = rng.integers(0, len(y), size=len(y))
        svr = NuSVR(nu=options.get("nu", 0.5), C=options.get("C", 1.0)).fit(xs[sample], ys[sample])
        point.append(svr.predict(x_scale.transform([row(mine)]))[0])
        for i in set(range(len(y))) - set(sample.tolist()):
            held[i].append(svr.predict(xs[i : i + 1])[0])

    def back(z: Sequence[float]) -> np.ndarray:
        return y_scale.inverse_transform(np.reshape(z, (-1, 1)))[:, 0]

    predicted = back(point)
    best = max(y)
    out = [i for i in held if held[i]]
    if len(out) < 2:  # nothing held out: a Gaussian as wide as the finals
        std = math.hypot(float(np.std(predicted)), float(np.std(y)))
        return float(norm.sf(best, loc=predicted.mean(), scale=std)) < options.get("delta", 0.05)
    residuals = y[out] - back([float(np.mean(held[i])) for i in out])
    iqr = float(np.subtract(*np.percentile(residuals, [75, 25])))
    scale = min(float(np.std(residuals)), iqr / 1.349) or float(np.std(residuals))
    width = math.hypot(float(np.std(predicted)), 0.9 * scale * len(residuals) ** -0.2)
    centres = predicted.mean() + residuals
    if width == 0:
        above = float(np.mean(centres > best))
    else:
        above = float(np.mean(norm.sf(best, loc=centres, scale=width)))
    return above < options.get("delta", 0.05)


ORACLES: dict[str, Oracle] = {
    "median": median_oracle,
    "asha": asha_oracle,
    "hyperband": hyperband_oracle,
    "moasha": moasha_oracle,
    "learning-curve": learning_curve_oracle,
}
#: the synthetic curves each scheduler's oracle is stated for (default: random curves)
CURVES: dict[str, Callable[[int, int, int], list[list[float]]]] = {
    "learning-curve": two_class_curves,
}
#: options that make each rule act within a short simulation
OPTIONS: dict[str, dict[str, Any]] = {
    "median": {"warmup_steps": 1, "min_trials": 3},
    "asha": {"min_step": 1, "reduction_factor": 3},
    "moasha": {"min_step": 1, "reduction_factor": 3},
    "hyperband": {"min_step": 1, "reduction_factor": 2},
    "learning-curve": {"min_trials": 6, "min_step": 2},
}


def check_scheduler(
    name: str, n_trials: int = 40, max_step: int = 9, workers: int = 4, seed: int = 0
) -> Simulation:
    """The shared conformance check of scheduler ``name`` (see the module docstring)."""
    if name not in ORACLES:
        raise AssertionError(f"scheduler {name!r} has no oracle in nasforge.testing.schedulers")
    options = OPTIONS.get(name, {})
    curves = CURVES.get(name, random_curves)(n_trials, max_step, seed)
    finals = {i: c[-1] for i, c in enumerate(curves)}
    rule = ORACLES[name]

    def oracle(history: Sequence[Event], number: int, step: int, value: float) -> bool:
        return rule(options, max_step, history, number, step, value, finals)

    half = n_trials // 2
    live = create_scheduler(name, **options).bind(None, max_step, "value")
    first = simulate(live, curves[:half], workers, seed, oracle)
    assert first.decisions == first.expected, _first_difference(first)
    # a "killed" run resumes: a fresh scheduler replays the stored trials, then both go on
    resumed = create_scheduler(name, **options).bind(None, max_step, "value")
    resumed.replay(list(reversed(first.trials)))  # replay orders by tell_seq itself
    rest = curves[half:]
    a = simulate(live, rest, workers, seed + 1, oracle, half, first.events)
    b = simulate(resumed, rest, workers, seed + 1, None, half, first.events)
    assert a.decisions == a.expected, _first_difference(a)
    assert a.decisions == b.decisions, "the replayed scheduler decides differently"
    stopped = first.stopped | a.stopped
    completed = first.completed | a.completed
    assert stopped and completed, f"{name}: stopped {sorted(stopped)}, kept {sorted(completed)}"
    assert sorted(stopped | completed) == list(range(n_trials))
    return Simulation(first.events + a.events[len(first.events) :], trials=first.trials + a.trials)


def _first_difference(sim: Simulation) -> str:
    for got, want in zip(sim.decisions, sim.expected, strict=True):
        if got != want:
            return f"trial {got[0]} step {got[1]}: scheduler stop={got[2]}, rule says {want[2]}"
    return "same decisions"
