"""An experiment's Pareto front and hypervolume: the front against the pairwise definition, the
hypervolume against a sweep written here, every setting stated, and its growth trial by trial."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.experiment import load_experiment, pareto_summary, pareto_trials
from nasforge.experiment.front import FrontRow, hypervolume_history, hypervolume_setting
from nasforge.objectives import Objectives
from nasforge.trial import Trial, TrialStatus

SPACE = nf.CellSpace(3, ["skip_connect", "conv", "pool"])
ARCH = SPACE.sample(np.random.default_rng(0))
START = datetime(2026, 1, 1)
TWO = Objectives.parse({"acc": "max", "params": "min"})


def make_trial(
    number: int, acc: float | None, params: float, status: str = "complete", finish: int = 0
) -> Trial:
    """A stored-looking trial finishing ``finish`` seconds (default: ``number + 1``) after
    the first started."""
    metrics = {"params": params} if acc is None else {"acc": acc, "params": params}
    scored = status == "complete" and acc is not None
    return Trial(
        number,
        ARCH,
        TrialStatus(status),
        metrics=metrics,
        scores=TWO.scores(metrics) if scored else None,
        started_at=START + timedelta(seconds=number),
        finished_at=START + timedelta(seconds=finish or number + 1),
    )


def random_trials(seed: int, n: int = 40) -> list[Trial]:
    rng = np.random.default_rng(seed)
    statuses = rng.choice(["complete", "complete", "complete", "pruned", "failed"], n)
    return [
        make_trial(i, float(rng.integers(0, 10)), float(rng.integers(0, 10)), str(status))
        for i, status in enumerate(statuses)
    ]


def brute_front(trials: list[Trial]) -> list[int]:
    """Numbers of the complete trials no other complete trial beats (pairwise)."""
    done = [t for t in trials if t.status == TrialStatus.COMPLETE]

    def beats(a: Trial, b: Trial) -> bool:
        at_least = (
            a.metrics["acc"] >= b.metrics["acc"] and a.metrics["params"] <= b.metrics["params"]
        )
        better = a.metrics["acc"] > b.metrics["acc"] or a.metrics["params"] < b.metrics["params"]
        return at_least and better

    return sorted(t.number for t in done if not any(beats(o, t) for o in done))


def sweep_hypervolume(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area that (acc max, params min) points dominate up to ``reference``, by a sweep."""
    inside = [(a, p) for a, p in points if a > reference[0] and p < reference[1]]
    area = 0.0
    xs = sorted({a for a, _ in inside} | {reference[0]})
    for low, high in pairwise(xs):  # each strip of acc: covered down to the best params above it
        covering = [p for a, p in inside if a >= high]
        if covering:
            area += (high - low) * (reference[1] - min(covering))
    return area


@pytest.mark.parametrize("seed", range(20))
def test_the_front_is_the_pairwise_front(seed: int) -> None:
    trials = random_trials(seed)
    summary = pareto_summary(trials, TWO)
    assert sorted(t.number for t in summary.front) == brute_front(trials)
    assert [t.number for t in pareto_trials(trials)] == brute_front(trials)
    # best first on the primary objective, the lower number first among equals
    keys = [(-t.metrics["acc"], t.number) for t in summary.front]
    assert keys == sorted(keys)
    assert summary.values == tuple((t.metrics["acc"], t.metrics["params"]) for t in summary.front)
    assert summary.n_complete == sum(t.status == TrialStatus.COMPLETE for t in trials)


@pytest.mark.parametrize("seed", range(10))
def test_the_hypervolume_is_the_swept_area_and_normalising_divides_by_the_spans(
    seed: int,
) -> None:
    trials = random_trials(seed)
    points = [(t.metrics["acc"], t.metrics["params"]) for t in trials if t.scores is not None]
    raw = pareto_summary(trials, TWO, reference=(-1.0, 11.0))
    assert raw.setting is not None and not raw.setting.normalised
    assert raw.hypervolume == pytest.approx(sweep_hypervolume(points, (-1.0, 11.0)))
    assert raw.setting.statement() == (
        "raw hypervolume in the objectives' own units, reference point (acc -1, params 11)"
    )
    # the default: normalised by this front's ideal and nadir against 1.1, i.e. the raw area up
    # to the reference point 1.1 stands for, divided by the spans of the two objectives
    summary = pareto_summary(trials, TWO)
    setting = summary.setting
    assert (
        setting is not None
        and setting.basis == "front"
        and setting.scaled_reference
        == (
            1.1,
            1.1,
        )
    )
    front = [(t.metrics["acc"], t.metrics["params"]) for t in summary.front]
    ideal = (max(a for a, _ in front), min(p for _, p in front))
    nadir = (min(a for a, _ in front), max(p for _, p in front))
    assert setting.ideal == ideal and setting.nadir == nadir
    spans = [abs(i - n) or 1.0 for i, n in zip(ideal, nadir, strict=True)]
    assert setting.reference == pytest.approx(
        (ideal[0] - 1.1 * spans[0], ideal[1] + 1.1 * spans[1])
    )
    expected = sweep_hypervolume(points, setting.reference) / (spans[0] * spans[1])
    assert summary.hypervolume == pytest.approx(expected)
    assert 0 < summary.hypervolume <= 1.1**2


def test_every_setting_is_stated_and_bad_points_are_refused() -> None:
    trials = [make_trial(0, 90.0, 1.5), make_trial(1, 85.0, 0.4), make_trial(2, 80.0, 0.6)]
    summary = pareto_summary(trials, TWO, name="demo")
    assert summary.setting is not None
    assert summary.setting.statement() == (
        "normalised hypervolume: each objective mapped to [0, 1] by the ideal (acc 90, "
        "params 0.4) and nadir (acc 85, params 1.5) of this experiment's 3 complete trials; "
        "reference point 1.1 (acc 84.5, params 1.61)"
    )
    given = pareto_summary(trials, TWO, ideal=(100, 0), nadir=(80, 2), reference=(70, 3))
    assert given.setting is not None and given.setting.basis == "given"
    assert given.setting.scaled_reference == pytest.approx((1.5, 1.5))
    assert given.setting.statement().endswith("as given; reference point 1.5 (acc 70, params 3)")
    # a known front: its ideal and nadir normalise (EvoXBench), and the IGD is measured to it
    truth = [(95.0, 0.2), (90.0, 0.1), (99.0, 2.0), (50.0, 5.0)]  # the last one is dominated
    known = pareto_summary(trials, TWO, true_front=truth)
    assert known.setting is not None and known.setting.basis == "true front"
    assert known.setting.ideal == (99.0, 0.1) and known.setting.nadir == (90.0, 2.0)
    assert "of the true front (3 points)" in known.setting.statement()
    assert known.igd is not None and known.igd > 0
    found = [make_trial(i, a, p) for i, (a, p) in enumerate(truth)]
    assert pareto_summary(found, TWO, true_front=truth).igd == 0.0
    assert summary.igd is None and summary.to_json()["igd"] is None
    for kwargs, message in [
        ({"ideal": (1, 2)}, "ideal and nadir: give both or neither"),
        (
            {"reference": (1, 2, 3)},
            r"reference: expected 2 finite numbers, one per objective "
            r"\(acc, params\), got \(1, 2, 3\)",
        ),
        ({"reference": (1, float("nan"))}, "reference: expected 2 finite numbers"),
        ({"reference": "x"}, "reference: expected numbers, got 'x'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            pareto_summary(trials, TWO, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(
        ConfigError,
        match=r"needs 2 objectives; the objectives of experiment "
        r"'one': acc$",
    ):
        pareto_summary(trials, {"acc": "max"}, name="one")


def test_without_a_complete_trial_there_is_nothing_to_measure() -> None:
    trials = [make_trial(0, None, 1.0, "failed"), make_trial(1, 3.0, 1.0, "pruned")]
    summary = pareto_summary(trials, TWO)
    assert summary.front == () and summary.hypervolume == 0.0 and summary.setting is None
    assert summary.history.number == ()
    raw = pareto_summary(trials, TWO, reference=(0, 10))
    assert raw.hypervolume == 0.0 and raw.setting is not None


@pytest.mark.parametrize("seed", range(5))
def test_the_history_is_the_hypervolume_of_each_prefix(seed: int) -> None:
    trials = random_trials(seed, 30)
    summary = pareto_summary(trials, TWO)
    setting = summary.setting
    assert setting is not None
    complete = [t for t in trials if t.status == TrialStatus.COMPLETE]
    assert summary.history.number == tuple(t.number for t in complete)
    for number, volume in zip(summary.history.number, summary.history.hypervolume, strict=True):
        prefix = [(t.metrics["acc"], t.metrics["params"]) for t in complete if t.number <= number]
        assert volume == pytest.approx(setting.measure(prefix))
    assert list(summary.history.hypervolume) == sorted(summary.history.hypervolume)
    assert summary.history.hypervolume[-1] == pytest.approx(summary.hypervolume)
    # serial trials finish in number order: the same series against time
    assert summary.history.hypervolume_by_time == summary.history.hypervolume
    assert summary.history.elapsed_s == tuple(float(t.number + 1) for t in complete)


def test_the_history_by_time_follows_the_order_trials_finished_in() -> None:
    # parallel workers: trial 1 (the best on both) finishes last
    trials = [
        make_trial(0, 5.0, 5.0, finish=10),
        make_trial(1, 9.0, 1.0, finish=30),
        make_trial(2, 7.0, 3.0, finish=20),
    ]
    setting = hypervolume_setting(TWO, [], reference=(0.0, 10.0))
    assert setting is not None
    summary = pareto_summary(trials, TWO, reference=(0.0, 10.0))
    assert summary.history.hypervolume == (25.0, 81.0, 81.0)
    assert summary.history.elapsed_s == (10.0, 20.0, 30.0)  # from the first start
    assert summary.history.hypervolume_by_time == (25.0, 49.0, 81.0)
    rows = [FrontRow(0, (5.0, 5.0), None)]  # no time known: only the series by number
    history = hypervolume_history(rows, setting)
    assert history.hypervolume == (25.0,) and history.elapsed_s == ()


def test_experiments_live_and_stored_give_the_same_summary(tmp_path) -> None:
    def two(arch: nf.Arch) -> dict[str, float]:
        convs, pools = arch.key.count("conv"), arch.key.count("pool")
        return {"acc": 10.0 * convs + arch.key.count("skip"), "params": 2.0 * convs + pools}

    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=two,
        objectives=dict(TWO),
        storage=tmp_path / "runs.db",
        name="mo",
    )
    exp.run(max_trials=15, progress=False)
    stored = load_experiment("mo", tmp_path / "runs.db")
    assert stored.pareto_summary().to_json() == exp.pareto_summary().to_json()
    assert sorted(t.number for t in exp.pareto_summary().front) == brute_front(exp.trials())
    assert (
        exp.hypervolume((0.0, 20.0))
        == stored.hypervolume((0.0, 20.0))
        == pytest.approx(
            sweep_hypervolume(
                [(t.metrics["acc"], t.metrics["params"]) for t in exp.trials("complete")],
                (0.0, 20.0),
            )
        )
    )
    assert exp.hypervolume() == exp.pareto_summary().hypervolume


@pytest.mark.parametrize(
    "objectives", [TWO, Objectives.parse({"a": "max", "b": "min", "c": "min"})]
)
def test_the_history_of_many_trials_screened_in_blocks_is_each_prefix(
    objectives: Objectives,
) -> None:
    # few distinct values: ties, duplicates and rows dominated by rows of the same block
    rng = np.random.default_rng(7)
    points = rng.integers(0, 12, (700, len(objectives))).astype(float)
    rows = [FrontRow(i, tuple(p), float(700 - i)) for i, p in enumerate(points)]
    setting = hypervolume_setting(objectives, points)
    assert setting is not None
    history = hypervolume_history(rows, setting)
    expected = [setting.measure(points[: i + 1]) for i in range(len(points))]
    assert history.hypervolume == pytest.approx(expected)
    # finishing in the reverse order: the prefixes of the reversed rows
    backwards = [setting.measure(points[i:]) for i in range(len(points) - 1, -1, -1)]
    assert history.number_by_time == tuple(range(699, -1, -1))
    assert history.hypervolume_by_time == pytest.approx(backwards)


def test_a_front_of_one_point_is_measured_in_its_own_units_and_says_so() -> None:
    summary = pareto_summary([make_trial(0, 90.0, 2.0), make_trial(1, 80.0, 3.0)], TWO)
    setting = summary.setting
    assert setting is not None and setting.ideal == setting.nadir == (90.0, 2.0)
    assert setting.reference == (88.9, 3.1)  # 1.1 units beyond the ideal
    assert summary.hypervolume == pytest.approx(1.1 * 1.1)
    assert "of this experiment's 2 complete trials (ideal equals nadir on acc, params: " in (
        setting.statement()
    )
