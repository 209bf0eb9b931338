"""``nasforge report NAME``: the stored honesty report of a one-shot search, and ``nasforge
search`` pointing at it when a one-shot method wrote one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli.main import app
from nasforge.estimation import TrialContext
from nasforge.oneshot import (
    HonestyReport,
    OneShotMethod,
    SearchSession,
    format_report,
    honesty_report,
)
from nasforge.space import Categorical
from nasforge.strategies import STRATEGIES, register_strategy
from nasforge.trial import Trial
from tests.oneshot.report_store import store_with_report

SPACE = nf.CellSpace(3, ["skip_connect", "conv", "none"])


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.stdout, done.stderr


def standalone(arch: nf.Arch, ctx: TrialContext) -> dict[str, float]:
    convs = arch.key.count("conv")
    return {"val_acc": 50.0 + 10 * convs, "test_acc": 49.0 + 10 * convs}


def op_dims(space: nf.Space) -> dict[str, tuple[str, ...]]:
    """The space's cell edges and their operations."""
    return {
        d.name: d.choices for d in space.dims if isinstance(d, Categorical) and "edge" in d.name
    }


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, HonestyReport]:
    """A store with experiment ``oneshot`` (a report) and ``plain`` (none)."""
    db = tmp_path / "runs.db"
    store, _, report = store_with_report(db)
    store.close()
    return db, report


def test_report_prints_the_stored_report(stored: tuple[Path, HonestyReport]) -> None:
    db, report = stored
    code, out, err = run("report", "oneshot", "--storage", str(db))
    assert (code, err) == (0, "")
    assert out == format_report(report) + "\n"
    assert "warning: 2 of 3 operation choices" in out
    code, out, err = run("report", "oneshot", "--storage", f"sqlite:///{db}", "--json")
    assert code == 0 and json.loads(out) == report.to_dict()


def test_report_of_an_experiment_without_one_is_one_line(
    stored: tuple[Path, HonestyReport],
) -> None:
    db, _ = stored
    code, out, err = run("report", "plain", "--storage", str(db))
    assert (code, out) == (2, "")
    assert err == (
        "error: experiment 'plain' has no honesty report; only one-shot methods (darts, gdas, "
        "drnas, enas, random-one-shot) write one\n"
    )
    code, out, err = run("report", "nope", "--storage", str(db))
    assert code == 2 and err.startswith("error: no experiment 'nope'") and err.count("\n") == 1


class BestOfSample(OneShotMethod):
    """A stand-in one-shot method: its "supernet" scores 20 sampled archs by their number of
    parameter-free ops; it derives the best and ends with the honesty report."""

    name = "test-best-of-sample"

    def search(
        self,
        session: SearchSession,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> list[Trial]:
        rng = np.random.default_rng(self.seed)
        archs = [self.space.sample(rng) for _ in range(20)]
        estimates = [(a, 50.0 + a.key.count("skip") + a.key.count("pool")) for a in archs]
        derived = max(estimates, key=lambda pair: pair[1])[0]
        found: list[Trial] = []
        honesty_report(
            session,
            self.name,
            derived,
            estimates,
            3,
            op_dims(self.space),
            {"skip_connect", "avg_pool_3x3", "none"},
            on_trial=found.append,
        )
        for trial in found:
            if on_trial is not None:
                on_trial(trial)
        return found


@pytest.fixture
def best_of_sample() -> Iterator[None]:
    register_strategy("test-best-of-sample", BestOfSample)  # type: ignore[arg-type]
    yield
    STRATEGIES.unregister("test-best-of-sample")


def test_search_prints_the_report_and_points_at_the_command(
    best_of_sample: None, tmp_path: Path
) -> None:
    db = tmp_path / "runs.db"
    config = tmp_path / "oneshot.yaml"
    config.write_text(
        "name: tab\nspace: nb201\nstrategy: test-best-of-sample\n"
        "evaluator: {name: tabular, options: {epochs: 12}}\nobjectives: {val_acc: max}\n"
        f"budget: {{max_trials: 3}}\nstorage: sqlite:///{db}\n"
    )
    code, out, err = run("search", str(config))
    assert code == 0, err
    assert "Honesty report of test-best-of-sample" in err  # printed above the search's bar
    assert f"see its honesty report: nasforge report tab --storage sqlite:///{db}" in out
    code, shown, _ = run("report", "tab", "--storage", str(db))
    assert code == 0 and "ranked #2 of 20" in shown and "Kendall's tau" in shown
