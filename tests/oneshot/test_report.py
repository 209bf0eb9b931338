"""The honesty report of a one-shot run: its pieces on known numbers, and the whole report made
against a real session (archs trained alone by a function evaluator, recorded, stored, read
back, printed at the end of ``Experiment.run``)."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import scipy.stats
from rich.console import Console

import nasforge as nf
from nasforge.errors import ConfigError, StorageError
from nasforge.estimation import TrialContext
from nasforge.experiment.session import RunSession
from nasforge.oneshot import (
    REPORT_KIND,
    HonestyReport,
    OneShotMethod,
    SearchSession,
    collapse_check,
    format_report,
    honesty_report,
    load_report,
    op_histogram,
    pick_for_report,
    rank_correlations,
    train_alone,
)
from nasforge.storage import Storage
from nasforge.trial import Trial, TrialStatus

SPACE = nf.CellSpace(3, ["skip_connect", "conv", "none"])
OP_DIMS = {name: SPACE.ops for name in SPACE.edge_names}
FREE = {"skip_connect", "none"}
ALL_SKIP = SPACE.parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|")


NOTHING = SPACE.parse("|none~0|+|none~0|none~1|")


def standalone(arch: nf.Arch, ctx: TrialContext) -> dict[str, float]:
    """Trained alone: 10 points per conv."""
    convs = arch.key.count("conv")
    for epoch in (1, 2):
        ctx.report(epoch, {"val_acc": 50.0 + 5 * convs * epoch})
    return {"val_acc": 50.0 + 10 * convs, "test_acc": 49.0 + 10 * convs}


def supernet_estimates() -> list[tuple[nf.Arch, float]]:
    """A supernet that agrees on convs but likes skips a little too."""
    return [(a, 40.0 + 5 * a.key.count("conv") + a.key.count("skip")) for a in SPACE.enumerate()]


def make_session(
    tmp_path: Path, fn: Callable[[nf.Arch, TrialContext], dict[str, float]] = standalone
) -> RunSession:
    store = Storage(f"sqlite:///{tmp_path / 'store.db'}")
    record = store.create_experiment("oneshot", 0, {"val_acc": "max"}, {"strategy": "darts"})
    objectives = nf.Objectives.parse({"val_acc": "max"})
    evaluator = nf.FunctionEvaluator(fn)
    return RunSession(
        store, record.id, objectives, SPACE, evaluator, seed=3, fidelity={"epochs": 2}
    )


def report_of(session: RunSession, derived: nf.Arch = ALL_SKIP, k: int = 5) -> HonestyReport:
    return honesty_report(
        session,
        "darts",
        derived,
        supernet_estimates(),
        k,
        OP_DIMS,
        FREE,
        {"batch_norm": "affine=False", "remedy": None},
        progress=False,
    )


# ---- the pieces -------------------------------------------------------------------------------


def test_rank_correlations_on_known_ranks() -> None:
    assert rank_correlations([1, 2, 3, 4], [5, 6, 7, 8]) == (1.0, 1.0)
    assert rank_correlations([1, 2, 3, 4], [8, 7, 6, 5]) == (-1.0, -1.0)
    tau, rho = rank_correlations([1, 2, 3, 4], [10, 30, 20, 40])
    assert tau == pytest.approx(4 / 6) and rho == pytest.approx(0.8)  # one swapped pair
    # a NaN pair is left out; fewer than 3 pairs or a constant side measures nothing
    assert rank_correlations([1, math.nan, 2, 3], [1, 2, 2, 3]) == (1.0, 1.0)
    assert rank_correlations([1, 2, math.nan], [1, 2, 3]) == (None, None)
    assert rank_correlations([1, 2, 3], [7, 7, 7]) == (None, None)


def test_op_histogram_counts_the_active_op_choices() -> None:
    arch = nf.Arch({"edge_1_0": "conv", "edge_2_0": "skip_connect", "edge_2_1": "skip_connect"})
    assert op_histogram(arch, OP_DIMS) == {"skip_connect": 2, "conv": 1}
    # a dimension the arch leaves unset (inactive) is not counted
    dims = {**OP_DIMS, "edge_3_0": ["conv", "none"]}
    assert op_histogram(arch, dims) == {"skip_connect": 2, "conv": 1}


def test_collapse_warning_when_parameter_free_operations_dominate() -> None:
    histogram = {"skip_connect": 5, "sep_conv_3x3": 2, "max_pool_3x3": 1}
    share, collapsed, warning = collapse_check(
        histogram, {"skip_connect", "max_pool_3x3", "none"}, advice="try remedy: beta-decay"
    )
    assert (share, collapsed) == (0.75, True)
    assert warning == (
        "6 of 8 operation choices of the derived architecture are parameter-free "
        "(skip_connect 5, max_pool_3x3 1): the supernet may have collapsed (Zela et al. 2020; "
        "the DARTS collapse); try remedy: beta-decay"
    )
    # half is not "dominate"; a higher threshold lets 75% pass; nothing counted, nothing said
    assert collapse_check({"skip_connect": 2, "conv": 2}, FREE) == (0.5, False, None)
    assert collapse_check(histogram, {"skip_connect", "max_pool_3x3"}, 0.8)[1:] == (False, None)
    assert collapse_check({}, FREE) == (0.0, False, None)
    with pytest.raises(ConfigError, match=r"threshold=1\.5 must be a share between 0 and 1"):
        collapse_check(histogram, FREE, 1.5)


def test_pick_for_report_spreads_over_the_ranking() -> None:
    ranked = [(nf.Arch({"x": i}), 90.0 - i) for i in range(10)]
    picked = pick_for_report(ranked, ranked[4][0], 4)
    assert [(a["x"], estimate, role) for a, estimate, role in picked] == [
        (4, 86.0, "derived"),
        (0, 90.0, "ranked #1 of 10"),
        (5, 85.0, "ranked #6 of 10"),
        (9, 81.0, "ranked #10 of 10"),
    ]
    # a repeated key counts once; k above the ranking's size takes each arch once
    doubled = [*ranked, (nf.Arch({"x": 0}), 10.0)]
    picked = pick_for_report(doubled, ranked[0][0], 50)
    assert [a["x"] for a, _, _ in picked] == list(range(10))
    assert picked[-1][2] == "ranked #10 of 10"
    # only the derived one; a derived arch the supernet did not rank has no estimate
    assert [role for *_, role in pick_for_report(ranked, ranked[3][0], 1)] == ["derived"]
    outsider = pick_for_report(ranked, nf.Arch({"x": 99}), 3)
    assert math.isnan(outsider[0][1]) and [a["x"] for a, _, _ in outsider[1:]] == [0, 9]
    with pytest.raises(ConfigError, match="k=0 must be a whole number >= 1"):
        pick_for_report(ranked, ranked[0][0], 0)


def test_train_alone_uses_the_sessions_evaluator_seed_and_fidelity(tmp_path: Path) -> None:
    seen: list[TrialContext] = []

    def remember(arch: nf.Arch, ctx: TrialContext) -> dict[str, float]:
        seen.append(ctx)
        return standalone(arch, ctx)

    session = make_session(tmp_path, remember)
    assert train_alone(session, ALL_SKIP, 7, number=4) == {"val_acc": 50.0, "test_acc": 49.0}
    ctx = seen[0]
    assert (ctx.seed, ctx.number, ctx.fidelity, ctx.space) == (7, 4, {"epochs": 2}, SPACE)
    assert session.trials() == []  # it records nothing itself


# ---- the whole report -------------------------------------------------------------------------


def test_honesty_report_trains_records_compares_and_stores(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    told: list[Trial] = []
    report = honesty_report(
        session,
        "darts",
        ALL_SKIP,
        supernet_estimates(),
        5,
        OP_DIMS,
        FREE,
        {"batch_norm": "affine=False"},
        on_trial=told.append,
        progress=False,
    )
    trials = session.trials()
    assert [t.number for t in told] == [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert [r.role for r in report.rows] == [
        "derived",
        "ranked #1 of 27",
        "ranked #9 of 27",
        "ranked #18 of 27",
        "ranked #27 of 27",
    ]
    derived = trials[0]
    assert derived.arch == ALL_SKIP and derived.seed == 3
    assert derived.metrics == {
        "val_acc": 50.0,
        "test_acc": 49.0,
        "standalone": 1.0,
        "supernet_val_acc": 43.0,
    }
    assert derived.intermediate == {1: {"val_acc": 50.0}, 2: {"val_acc": 50.0}}
    for row, trial in zip(report.rows, trials, strict=True):
        assert row.trial == trial.number and row.arch == trial.arch.key
        assert row.standalone_val_acc == trial.metrics["val_acc"]
        assert row.standalone_test_acc == trial.metrics["test_acc"]
        assert row.supernet_val_acc == trial.metrics["supernet_val_acc"]
    estimates = [math.nan if (e := r.supernet_val_acc) is None else e for r in report.rows]
    tau, rho = rank_correlations(estimates, [r.standalone_val_acc for r in report.rows])
    assert (report.kendall_tau, report.spearman_rho) == (tau, rho) and tau is not None
    assert 0.5 < tau < 1.0  # the supernet's liking for skips costs it a perfect ranking
    # its two-sided p-value: how often unrelated rankings are this far from 0
    alone = [r.standalone_val_acc for r in report.rows]
    assert report.kendall_p == pytest.approx(scipy.stats.kendalltau(estimates, alone).pvalue)
    assert report.kendall_p is not None and 0 < report.kendall_p < 0.05
    assert report.histogram == {"skip_connect": 3} and report.parameter_free_share == 1.0
    assert report.collapsed and "3 of 3 operation choices" in (report.warning or "")
    assert report.settings == {"batch_norm": "affine=False"} and report.n_compared == 5
    # stored with the experiment, read back equal
    assert session.attached(REPORT_KIND) == [report.to_dict()]
    assert load_report(session.storage, session.experiment_id) == report


def test_a_failed_training_is_a_row_and_the_report_goes_on(tmp_path: Path) -> None:
    def fragile(arch: nf.Arch, ctx: TrialContext) -> dict[str, float]:
        if arch == NOTHING:
            raise RuntimeError("no path from the input to the output")
        return standalone(arch, ctx)

    session = make_session(tmp_path, fragile)
    report = report_of(session, derived=NOTHING, k=4)
    failed = report.rows[0]
    assert math.isnan(failed.standalone_val_acc) and failed.standalone_test_acc is None
    assert failed.error == "RuntimeError: no path from the input to the output"
    trial = session.trials()[0]
    assert trial.status == TrialStatus.FAILED and "Traceback" in (trial.error or "")
    assert all(r.error is None for r in report.rows[1:])
    assert report.n_compared == 3 and report.kendall_tau is not None
    stored = json.loads(json.dumps(report.to_dict(), allow_nan=False))  # no NaN in the store
    assert stored["rows"][0]["standalone_val_acc"] is None
    back = load_report(session.storage, session.experiment_id)
    assert back is not None and math.isnan(back.rows[0].standalone_val_acc)
    assert back.to_dict() == report.to_dict()
    older = {k: v for k, v in stored.items() if k != "kendall_p"}  # stored before the p-value
    assert HonestyReport.from_dict(older).kendall_p is None
    assert "trial 0 (derived) failed: RuntimeError: no path" in format_report(report)


def test_a_report_without_a_collapse_has_no_warning(tmp_path: Path) -> None:
    report = report_of(make_session(tmp_path), SPACE.parse("|conv~0|+|conv~0|skip_connect~1|"))
    assert (report.collapsed, report.warning) == (False, None)
    assert report.parameter_free_share == pytest.approx(1 / 3)
    assert "warning" not in format_report(report)


def test_format_report_is_a_table_with_the_numbers(tmp_path: Path) -> None:
    text = format_report(report_of(make_session(tmp_path)))
    lines = text.splitlines()
    assert lines[0].startswith("Honesty report of darts")
    assert "settings: batch_norm=affine=False, remedy=null" in lines
    header = next(line for line in lines if line.startswith("trial"))
    columns = ["trial", "role", "supernet", "val_acc", "standalone", "val_acc", "test_acc", "arch"]
    assert header.split() == columns
    derived = next(line for line in lines if " derived " in line)
    assert derived.split() == ["0", "derived", "43.00", "50.00", "49.00", ALL_SKIP.key]
    agreement = "rank agreement over 5 architectures: Kendall's tau"
    line = next(line for line in lines if line.startswith(agreement))
    assert "(p = 0.037)," in line  # tau 0.894 over 5 archs
    chance = format_report(
        dataclasses.replace(report_of(make_session(tmp_path / "b")), kendall_p=0.4)
    )
    assert "(p = 0.4; within chance)," in chance
    assert "operations of the derived architecture: skip_connect 3 (100% parameter-free)" in lines
    assert lines[-1].startswith("warning: 3 of 3 operation choices")


def test_a_stored_report_that_cannot_be_read_is_one_error(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    assert load_report(session.storage, session.experiment_id) is None
    session.attach(REPORT_KIND, {"method": "darts"})
    with pytest.raises(StorageError, match="a stored honesty report cannot be read"):
        load_report(session.storage, session.experiment_id)


def test_the_progress_bar_follows_the_trainings(tmp_path: Path) -> None:
    out = io.StringIO()
    honesty_report(
        make_session(tmp_path),
        "gdas",
        ALL_SKIP,
        supernet_estimates(),
        3,
        OP_DIMS,
        FREE,
        console=Console(file=out, width=120),
    )
    assert "gdas honesty report" in out.getvalue() and "3/3" in out.getvalue()


# ---- at the end of a run ----------------------------------------------------------------------


class RankAll(OneShotMethod):
    """A stand-in one-shot method: its "supernet" is :func:`supernet_estimates`; it derives the
    arch the supernet ranks best and ends with the honesty report."""

    name = "test-rank-all"

    def search(
        self,
        session: SearchSession,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> list[Trial]:
        found: list[Trial] = []
        estimates = supernet_estimates()
        derived = max(estimates, key=lambda pair: pair[1])[0]
        honesty_report(
            session, self.name, derived, estimates, 3, OP_DIMS, FREE, on_trial=found.append
        )
        for trial in found:
            if on_trial is not None:
                on_trial(trial)
        return found


def test_experiment_run_prints_the_report_at_its_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = nf.Experiment(
        SPACE,
        strategy=RankAll,
        evaluator=standalone,
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 'run.db'}",
        name="ranked",
        fidelity={"epochs": 2},
    )
    finished = exp.run(max_trials=3)
    assert [t.metrics["standalone"] for t in finished] == [1.0, 1.0, 1.0]
    err = capsys.readouterr().err
    stored = load_report(exp.storage, exp.record.id)
    assert stored is not None and stored.derived == "|conv~0|+|conv~0|conv~1|"
    assert all(line in err for line in format_report(stored).splitlines() if line)
