"""Hard constraints in a search: checked before training where the evaluator measures the
metric cheaply, after training otherwise; an infeasible trial is stored and told, never
ranked, and a resume keeps all of it (issue 17)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli.main import app
from nasforge.errors import ConfigError, SearchFailedError, StorageError
from nasforge.estimation import Measure, TrialContext
from nasforge.estimation.tabular import TabularEvaluator
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import build_experiment, load_config, parse_config
from nasforge.space import Arch, Task
from nasforge.spaces import NB201Space
from nasforge.trial import Trial, TrialStatus
from nasforge.viz._data import pareto, resolve

SMALL = {"params_m": "<= 0.3"}


class CountingTable(TabularEvaluator):
    """The NB201 table, remembering which archs it looked the accuracies up for."""

    def __init__(self) -> None:
        super().__init__(epochs=12)
        self.evaluated: list[str] = []

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        self.evaluated.append(arch.key)
        return super().evaluate(arch, ctx)


def tabular(
    storage: str, constraints: Any = SMALL, objectives: Any = "val_acc", **options: Any
) -> nf.Experiment:
    evaluator = CountingTable()
    return nf.Experiment(
        evaluator.space(),
        strategy="random",
        evaluator=evaluator,
        objectives=objectives,
        constraints=constraints,
        storage=storage,
        name="small",
        seed=0,
        **options,
    )


def outline(trials: list[Trial]) -> list[tuple[Any, ...]]:
    return [(t.number, t.status, dict(t.metrics), t.scores, t.error) for t in trials]


# ---- before training -----------------------------------------------------------------------


def test_a_broken_constraint_is_recorded_untrained_and_never_ranked(tmp_path: Path) -> None:
    exp = tabular(f"sqlite:///{tmp_path / 'runs.db'}")
    exp.run(max_trials=30, progress=False)
    trials = exp.trials()
    infeasible = [t for t in trials if not t.feasible]
    feasible = [t for t in trials if t.feasible]
    assert len(trials) == 30 and infeasible and feasible
    for t in infeasible:  # stored with what was measured, and why; accuracy never looked up
        assert t.status == TrialStatus.PRUNED and t.scores is None
        assert list(t.metrics) == ["params_m"] and t.metrics["params_m"] > 0.3
        assert t.violations == {"params_m": pytest.approx(t.metrics["params_m"] - 0.3)}
        assert t.error == (
            f"infeasible, not trained: params_m = {t.metrics['params_m']!r} breaks params_m <= 0.3"
        )
    for t in feasible:
        assert t.status == TrialStatus.COMPLETE and t.metrics["params_m"] <= 0.3
        assert t.constraint_values["params_m"] <= 0 and t.scores is not None
    evaluator = exp.evaluator
    assert isinstance(evaluator, CountingTable)
    assert sorted(evaluator.evaluated) == sorted(t.arch.key for t in feasible)
    best = exp.best()
    assert best is not None and best.feasible
    assert best.metrics["val_acc"] == max(t.metrics["val_acc"] for t in feasible)
    assert all(t.feasible for t in exp.pareto_front())
    # the strategy was told every trial, the infeasible ones as such
    told = exp.strategy_.history_  # type: ignore[union-attr]
    assert [t.number for t in told] == [t.number for t in trials]
    assert [t.feasible for t in told] == [t.feasible for t in trials]


def test_the_front_of_two_objectives_holds_feasible_trials_only(tmp_path: Path) -> None:
    two = {"val_acc": "max", "params_m": "min"}
    free = tabular("sqlite:///:memory:", constraints=None, objectives=two)
    free.run(max_trials=40, progress=False)
    bound = tabular("sqlite:///:memory:", constraints={"val_acc": ">= 75"}, objectives=two)
    bound.run(max_trials=40, progress=False)
    # the same archs (same seed, random search); the constrained front drops the weak ones
    assert [t.arch for t in free.trials()] == [t.arch for t in bound.trials()]
    front = bound.pareto_front()
    assert front and all(t.metrics["val_acc"] >= 75 and t.feasible for t in front)
    assert any(t.metrics["val_acc"] < 75 for t in free.pareto_front())
    kept = {(t.metrics["val_acc"], t.metrics["params_m"]) for t in bound.trials() if t.feasible}
    expected = {a for a in kept if not any(b != a and b[0] >= a[0] and b[1] <= a[1] for b in kept)}
    assert {(t.metrics["val_acc"], t.metrics["params_m"]) for t in front} == expected
    # the plot of the front shows the feasible trials only
    plotted = pareto(resolve(bound))
    assert sorted(plotted.front) == sorted(t.number for t in front)
    assert set(plotted.numbers) == {t.number for t in bound.trials() if t.feasible}


def test_a_resume_keeps_the_infeasible_trials_and_tells_them_again(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    first = tabular(storage)
    first.run(max_trials=12, progress=False)
    before = outline(first.trials())
    stored = nf.load_experiment("small", storage)
    assert outline(stored.trials()) == before
    assert [t.feasible for t in stored.trials()] == [t.feasible for t in first.trials()]
    assert stored.best() == first.best() and stored.constraints == first.constraints
    again = tabular(storage)
    again.run(max_trials=24, progress=False)
    trials = again.trials()
    assert outline(trials[:12]) == before
    assert len(trials) == 24 and any(not t.feasible for t in trials[12:])
    told = again.strategy_.history_  # type: ignore[union-attr]
    assert [(t.number, t.feasible) for t in told] == [(t.number, t.feasible) for t in trials]
    # the constraints are part of the experiment: other ones (or none) are refused
    for other in ({"params_m": "<= 0.4"}, None):
        with pytest.raises(StorageError, match="was started with constraints="):
            _ = tabular(storage, constraints=other).record


def test_worker_processes_check_before_training_too() -> None:
    exp = nf.Experiment(
        "nb201",
        strategy="random",
        evaluator="tabular",
        evaluator_options={"epochs": 12},
        constraints=SMALL,
        storage="sqlite:///:memory:",
    )
    exp.run(max_trials=8, progress=False, executor="processes", workers=2)
    trials = exp.trials()
    assert any(not t.feasible for t in trials)
    for t in trials:
        assert t.status == (TrialStatus.COMPLETE if t.feasible else TrialStatus.PRUNED)
        assert ("val_acc" in t.metrics) is t.feasible


# ---- after training ------------------------------------------------------------------------


def test_a_constraint_known_only_after_training_leaves_the_trial_complete_but_infeasible() -> None:
    space = nf.CellSpace(4, ["skip_connect", "nor_conv_3x3"])

    def convs(arch: Arch) -> dict[str, float]:
        return {"convs": float(arch.key.count("conv")), "skips": float(arch.key.count("skip"))}

    exp = nf.Experiment(
        space,
        strategy="random",
        evaluator=convs,
        objectives="convs",
        constraints=["skips >= 3"],
        storage="sqlite:///:memory:",
    )
    exp.run(max_trials=20, progress=False)
    trials = exp.trials()
    infeasible = [t for t in trials if not t.feasible]
    assert infeasible and len(infeasible) < len(trials)
    for t in infeasible:  # trained: complete, with every metric, and no score
        assert t.status == TrialStatus.COMPLETE and t.scores is None
        assert set(t.metrics) == {"convs", "skips"} and t.metrics["skips"] < 3
        assert t.error is not None and t.error.startswith("infeasible: skips = ")
    best = exp.best()
    assert best is not None and best.metrics["skips"] >= 3
    assert best.metrics["convs"] == max(t.metrics["convs"] for t in trials if t.feasible)
    assert max(t.metrics["convs"] for t in infeasible) > best.metrics["convs"]


def test_a_constrained_metric_the_evaluator_does_not_return_fails_the_trial() -> None:
    exp = nf.Experiment(
        nf.CellSpace(3, ["skip_connect", "conv"]),
        strategy="random",
        evaluator=lambda arch: {"convs": float(arch.key.count("conv"))},
        objectives="convs",
        constraints={"latency_ms": "<= 2"},
        storage="sqlite:///:memory:",
    )
    with pytest.raises(SearchFailedError, match="returned no 'latency_ms' for constraint"):
        exp.run(max_trials=3, progress=False)
    assert {t.error for t in exp.trials()} == {
        "the evaluator returned no 'latency_ms' for constraint latency_ms <= 2; it returned "
        "['convs']"
    }


# ---- the train evaluator checks per_arch measures before training ----------------------------


class Calls(Measure):
    """A parameter count that counts its calls, per_arch or not."""

    def __init__(self, per_arch: bool) -> None:
        self.per_arch = per_arch
        self.name = f"weights-{per_arch}"
        self.metric_names = (f"weights_{'arch' if per_arch else 'trained'}",)
        self.calls = 0

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        self.calls += 1
        return {self.metric_names[0]: float(sum(p.numel() for p in model.parameters()))}


class CountingTrainer(TrainEvaluator):
    def __init__(self, **options: Any) -> None:
        super().__init__(tiny(), epochs=1, batch_size=16, **options)
        self.fits = 0

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        self.fits += 1
        return super().evaluate(arch, ctx)


def tiny() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 1, 8)).astype(np.float32), np.arange(40) % 2


ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV = ALL_NONE.replace("none", "nor_conv_3x3")


def test_train_evaluator_measures_per_arch_metrics_without_training_once() -> None:
    space = NB201Space(n_cells=1, channels=4)
    per_arch, trained = Calls(per_arch=True), Calls(per_arch=False)
    evaluator = CountingTrainer(measures=["params", per_arch, trained])
    assert evaluator.cheap_metric_names == ("params", "weights_arch")
    ctx = TrialContext(space=space, seed=0, device="cpu")
    arch = space.parse(ALL_CONV)
    cheap = evaluator.cheap_metrics(arch, ctx, ["params", "weights_arch", "weights_trained"])
    assert set(cheap) == {"params", "weights_arch"} and trained.calls == 0
    assert evaluator.cheap_metrics(arch, ctx, ["val_acc"]) == {}
    metrics = evaluator.evaluate(arch, ctx)
    assert metrics["params"] == cheap["params"] == metrics["weights_arch"]
    assert per_arch.calls == 1 and trained.calls == 1  # measured once, before training


def test_tabular_evaluator_reads_the_parameter_count_alone() -> None:
    table = TabularEvaluator()
    arch = table.space().parse(ALL_NONE)
    assert table.cheap_metric_names == ("params_m",)
    cheap = table.cheap_metrics(arch, TrialContext(), ["params_m", "val_acc", "test_acc"])
    assert cheap == {"params_m": table.table_.lookup(arch)["params_m"]}
    assert table.cheap_metrics(arch, TrialContext(), ["val_acc"]) == {}


def test_train_evaluator_trains_only_the_archs_that_keep_the_constraint() -> None:
    space = NB201Space(n_cells=1, channels=4)
    evaluator = CountingTrainer()
    ctx = TrialContext(space=space, seed=0, device="cpu")
    low, high = (
        evaluator.cheap_metrics(space.parse(key), ctx, ["params"])["params"]
        for key in (ALL_NONE, ALL_CONV)
    )
    bound = low + (high - low) / 4  # a quarter of the way from no convolution to all
    exp = nf.Experiment(
        space,
        strategy="random",
        evaluator=evaluator,
        objectives="val_acc",
        constraints={"params": f"<= {bound}"},
        storage="sqlite:///:memory:",
        device="cpu",
        seed=1,
    )
    exp.run(max_trials=6, progress=False)
    trials = exp.trials()
    untrained = [t for t in trials if not t.feasible]
    assert untrained and len(untrained) < len(trials)
    for t in untrained:  # no training: no curve, no loss, only the parameter count
        assert t.status == TrialStatus.PRUNED and dict(t.metrics).keys() == {"params"}
        assert not t.intermediate and t.metrics["params"] > bound
    for t in trials:
        if t.feasible:
            assert t.status == TrialStatus.COMPLETE and "train_loss" in t.metrics
            assert t.intermediate and t.metrics["params"] <= bound
    assert evaluator.fits == len(trials) - len(untrained)


# ---- Optuna's constrained samplers ------------------------------------------------------------


def test_nsga2_gets_each_trials_constraint_values() -> None:
    evaluator = TabularEvaluator(epochs=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated constraints_func
        exp = nf.Experiment(
            evaluator.space(),
            strategy="optuna:nsga2",
            strategy_options={"population_size": 8},
            evaluator=evaluator,
            objectives={"val_acc": "max", "params_m": "min"},
            constraints={"params_m": "<= 0.5", "test_acc": ">= 80"},
            storage="sqlite:///:memory:",
            seed=2,
        )
        exp.run(max_trials=40, progress=False)
    study = exp.strategy_.study_  # type: ignore[union-attr]
    trials = exp.trials()
    assert len(study.trials) == len(trials) == 40
    states = set()
    for ours, theirs in zip(trials, study.trials, strict=True):
        # asked in order: the same arch under the same number
        assert theirs.params == {k: v for k, v in ours.arch.items() if v is not None}
        assert theirs.constraints == pytest.approx(dict(ours.constraint_values))
        if ours.status == TrialStatus.PRUNED:  # not trained: params_m broke first
            assert theirs.state.name == "PRUNED" and set(theirs.constraints) == {"params_m"}
            assert theirs.constraints["params_m"] > 0
        else:  # trained: every constraint, and the objective values even when infeasible
            assert ours.status == TrialStatus.COMPLETE
            assert theirs.state.name == "COMPLETE" and set(theirs.constraints) == {
                "params_m",
                "test_acc",
            }
            assert theirs.values == pytest.approx(
                [ours.metrics["val_acc"], -ours.metrics["params_m"]]
            )
        states.add((theirs.state.name, ours.feasible))
    assert states == {("PRUNED", False), ("COMPLETE", False), ("COMPLETE", True)}
    assert all(all(v <= 0 for v in t.constraints.values()) for t in study.best_trials)


# ---- YAML and the command line ------------------------------------------------------------------

CONFIG = {
    "space": "nb201",
    "strategy": "random",
    "evaluator": {"name": "tabular", "options": {"epochs": 12}},
}


def test_yaml_constraints_in_either_form_are_stored_canonical(tmp_path: Path) -> None:
    listed = parse_config({**CONFIG, "constraints": ["params_m <= 0.3", "val_acc > 70"]})
    mapped = parse_config({**CONFIG, "constraints": {"params_m": "<=0.3", "val_acc": "> 70"}})
    assert listed.constraints == mapped.constraints == {"params_m": "<= 0.3", "val_acc": "> 70"}
    assert parse_config(CONFIG).constraints is None
    path = tmp_path / "search.yaml"
    path.write_text(
        "space: nb201\nevaluator: {name: tabular, options: {epochs: 12}}\n"
        "storage: 'sqlite:///:memory:'\n"
        "constraints:\n  - params_m <= 0.3\n  - val_acc >= 70\n"
    )
    exp = build_experiment(load_config(path))
    assert exp.constraints == nf.Constraints.parse(["params_m <= 0.3", "val_acc >= 70"])
    assert exp.spec().to_json()["constraints"] == {"params_m": "<= 0.3", "val_acc": ">= 70"}


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ({"params_m": 0.3}, "config: constraints.params_m: 0.3 is not a condition"),
        (["params_m is small"], "config: constraints: 'params_m is small' is not a constraint"),
        (7, "config: constraints must be a mapping like"),
    ],
)
def test_bad_yaml_constraints_are_one_line(constraints: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({**CONFIG, "constraints": constraints})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_constraint_on_a_metric_the_evaluator_never_returns_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        tabular("sqlite:///:memory:", constraints={"latency_ms": "<= 2"})
    assert str(info.value).startswith(
        "constraints.latency_ms: evaluator CountingTable does not return 'latency_ms'; it "
        "returns val_acc, test_acc"
    )


def test_the_command_line_shows_infeasible_trials(tmp_path: Path) -> None:
    config = tmp_path / "search.yaml"
    db = tmp_path / "runs.db"
    config.write_text(
        f"name: tab\nstorage: sqlite:///{db}\nspace: nb201\nstrategy: random\n"
        "evaluator: {name: tabular, options: {epochs: 12}}\n"
        "constraints: {params_m: <= 0.3}\nbudget: {max_trials: 10}\n"
    )
    runner = CliRunner()
    done = runner.invoke(app, ["search", str(config), "--quiet"])
    assert done.exit_code == 0, done.stderr
    infeasible = sum(1 for t in nf.load_experiment("tab", str(db)).trials() if not t.feasible)
    assert infeasible > 0
    assert (
        f"constraints params_m <= 0.3: {infeasible} trials infeasible ({infeasible} of them not "
        "trained)" in " ".join(done.stdout.split())
    )
    listed = runner.invoke(app, ["trials", "tab", "--storage", str(db), "--json"])
    rows = json.loads(listed.stdout)
    assert sum(1 for r in rows if not r["feasible"]) == infeasible
    for row in rows:
        assert row["feasible"] == (row["metrics"]["params_m"] <= 0.3)
        assert (row["violations"] == {}) == row["feasible"]
    table = runner.invoke(app, ["trials", "tab", "--storage", str(db)], terminal_width=250)
    assert "pruned, infeasible" in table.stdout and "breaks params_m <= 0.3" in table.stdout
