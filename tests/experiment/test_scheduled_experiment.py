"""Experiments with an early-stopping scheduler: pruning, storage, resume after a kill, config."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.errors import ConfigError, StorageError
from nasforge.experiment.config import parse_config
from nasforge.schedulers import list_schedulers
from nasforge.trial import Trial, TrialStatus

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EPOCHS = 9


def curve_evaluator(arch: nf.Arch, ctx: nf.TrialContext) -> dict[str, float]:
    """A synthetic training run: convolutions raise the final level, reported per epoch."""
    key = arch.key
    level = 50.0 + 8.0 * key.count("nor_conv_3x3") + 4.0 * key.count("nor_conv_1x1")
    level -= 3.0 * key.count("none")
    speed = 5.0 + zlib.crc32(key.encode()) % 7  # differs between archs, same in every process
    value = 0.0
    for epoch in range(1, ctx.fidelity.get("epochs", EPOCHS) + 1):
        value = level - speed * 10.0 / (epoch + 1)
        ctx.report(epoch, {"val_acc": value, "train_loss": 1.0 / epoch})
    return {"val_acc": value, "test_acc": value - 1.0}


OPTIONS: dict[str, dict[str, object]] = {
    "median": {"min_trials": 3},
    "asha": {"reduction_factor": 3},
    "moasha": {"reduction_factor": 3},
    "hyperband": {"reduction_factor": 3},
    "learning-curve": {"min_trials": 5},
}


def make(path: Path, scheduler: str, name: str = "e", **kw: object) -> nf.Experiment:
    return nf.Experiment(
        nf.CellSpace(4, OPS),
        strategy="random",
        evaluator=curve_evaluator,
        storage=path,
        name=name,
        seed=kw.pop("seed", 1),  # type: ignore[arg-type]
        fidelity={"epochs": EPOCHS},
        scheduler=scheduler,
        scheduler_options=kw.pop("scheduler_options", OPTIONS[scheduler]),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def summary(trials: list[Trial]) -> list[tuple[str, str, list[int]]]:
    return [(t.arch.key, t.status.value, sorted(t.intermediate)) for t in trials]


@pytest.mark.parametrize("name", list_schedulers())
def test_killed_and_resumed_search_matches_an_uninterrupted_one(tmp_path: Path, name: str) -> None:
    whole = make(tmp_path / "whole.db", name)
    whole.run(max_trials=24, progress=False)

    def kill_after_ten(exp: nf.Experiment, trial: Trial) -> None:
        if trial.number == 9:
            raise KeyboardInterrupt

    first = make(tmp_path / "killed.db", name)
    with pytest.raises(KeyboardInterrupt):
        first.run(max_trials=24, progress=False, callbacks=[kill_after_ten])
    assert len(first.trials()) == 10
    resumed = make(tmp_path / "killed.db", name)
    resumed.run(max_trials=24, progress=False)

    assert summary(resumed.trials()) == summary(whole.trials())
    assert resumed.scheduler_ is not None and whole.scheduler_ is not None
    assert resumed.scheduler_.curves_ == whole.scheduler_.curves_
    assert resumed.scheduler_.finals_ == whole.scheduler_.finals_
    pruned = resumed.trials(TrialStatus.PRUNED)
    assert pruned, f"{name} stopped nothing in 24 trials"
    for t in pruned:  # stored as pruned, with the partial curve and its last report as metrics
        steps = sorted(t.intermediate)
        assert steps == list(range(1, len(steps) + 1)) and len(steps) < EPOCHS
        assert t.metrics["val_acc"] == t.intermediate[steps[-1]]["val_acc"]
        assert t.scores is None
    # the strategy was told the pruned trials with their curves
    told = [t for t in resumed.strategy_.history_ if t.status == TrialStatus.PRUNED]
    assert told and all(t.intermediate for t in told)


def test_asha_saves_epochs_and_keeps_the_best(tmp_path: Path) -> None:
    plain = nf.Experiment(
        nf.CellSpace(4, OPS),
        strategy="random",
        evaluator=curve_evaluator,
        storage=tmp_path / "p.db",
        seed=1,
        fidelity={"epochs": EPOCHS},
    )
    plain.run(max_trials=30, progress=False)
    asha = make(tmp_path / "a.db", "asha")
    asha.run(max_trials=30, progress=False)
    epochs = [sum(len(t.intermediate) for t in e.trials()) for e in (plain, asha)]
    # rungs at 1 and 3 of 9 epochs with eta = 3
    assert epochs[0] == 30 * EPOCHS and epochs[1] < epochs[0] / 2
    # random search asks the same archs either way; the best survives every rung here
    assert asha.best().arch == plain.best().arch  # type: ignore[union-attr]


def test_resume_with_another_scheduler_or_none_is_refused(tmp_path: Path) -> None:
    make(tmp_path / "s.db", "asha").run(max_trials=2, progress=False)
    with pytest.raises(StorageError, match="scheduler='asha', not 'median'"):
        make(tmp_path / "s.db", "median").trials()
    with pytest.raises(StorageError, match="scheduler_options="):
        make(tmp_path / "s.db", "asha", scheduler_options={"reduction_factor": 2}).trials()
    with pytest.raises(StorageError, match="scheduler='asha', not None"):
        nf.Experiment(
            nf.CellSpace(4, OPS),
            strategy="random",
            evaluator=curve_evaluator,
            storage=tmp_path / "s.db",
            name="e",
            seed=1,
            fidelity={"epochs": EPOCHS},
        ).trials()


def test_scheduler_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reduction_factor must be an integer >= 2"):
        make(tmp_path / "x.db", "asha", scheduler_options={"reduction_factor": 0})
    with pytest.raises(ConfigError, match=r"scheduler 'asha': .*unexpected keyword"):
        make(tmp_path / "x.db", "asha", scheduler_options={"eta": 3})
    with pytest.raises(ConfigError, match="max_step is unknown"):
        nf.Experiment(
            nf.CellSpace(4, OPS),
            strategy="random",
            evaluator=curve_evaluator,
            storage=tmp_path / "x.db",
            scheduler="median",
        )
    with pytest.raises(ConfigError, match="scheduler_options given without a scheduler"):
        nf.Experiment(
            nf.CellSpace(4, OPS),
            strategy="random",
            evaluator=curve_evaluator,
            storage=tmp_path / "x.db",
            scheduler_options={"min_step": 1},
        )


def test_max_step_comes_from_the_evaluator_epochs_when_no_fidelity(tmp_path: Path) -> None:
    from nasforge.estimation.train import TrainEvaluator

    exp = nf.Experiment(
        nf.NB201Space(n_cells=1, channels=8) if hasattr(nf, "NB201Space") else "nb201",
        strategy="random",
        evaluator=TrainEvaluator("digits", epochs=7),
        storage=tmp_path / "t.db",
        scheduler="asha",
        space_options={} if hasattr(nf, "NB201Space") else {"n_cells": 1, "channels": 8},
    )
    assert exp.scheduler_ is not None and exp.scheduler_.max_step_ == 7
    assert exp.spec().scheduler == "asha" and exp.spec().scheduler_options == {}


def test_yaml_scheduler_is_checked_like_the_other_components() -> None:
    base = {"space": "nb201", "evaluator": {"name": "train", "options": {"epochs": 3}}}
    cfg = parse_config({**base, "scheduler": {"name": "asha", "options": {"min_step": 1}}})
    assert cfg.scheduler is not None and cfg.scheduler.options == {"min_step": 1}
    assert parse_config({**base, "scheduler": "median"}).scheduler.name == "median"  # type: ignore[union-attr]
    assert parse_config(base).scheduler is None
    with pytest.raises(ConfigError, match=r"scheduler\.options\.eta: unknown key; allowed: .*min_"):
        parse_config({**base, "scheduler": {"name": "asha", "options": {"eta": 3}}})
    with pytest.raises(ConfigError, match=r"scheduler\.name: unknown scheduler 'nope'"):
        parse_config({**base, "scheduler": "nope"})


YAML = """\
name: cli
storage: sqlite:///{db}
space: {{name: nb201, options: {{n_cells: 1, channels: 4}}}}
strategy: random
evaluator: {{name: train, options: {{dataset: digits, epochs: 2, batch_size: 64, threads: 1}}}}
scheduler: {{name: asha, options: {{reduction_factor: 2}}}}
budget: {{max_trials: 6}}
"""


def test_cli_search_runs_the_yaml_scheduler_and_the_option_overrides_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nasforge.cli.main import app

    db = tmp_path / "cli.db"
    config = tmp_path / "search.yaml"
    config.write_text(YAML.format(db=db))
    done = CliRunner().invoke(app, ["search", str(config), "--quiet"])
    assert done.exit_code == 0, done.output
    stored = nf.load_experiment("cli", db)
    trials = stored.trials()
    assert stored.record.spec["scheduler"] == "asha"
    assert len(trials) == 6 and any(t.status == TrialStatus.PRUNED for t in trials)
    assert all(len(t.intermediate) == 1 for t in trials if t.status == TrialStatus.PRUNED)
    # another scheduler under the same name is refused in one line, exit status 2
    other = CliRunner().invoke(app, ["search", str(config), "--scheduler", "median", "--quiet"])
    assert other.exit_code == 2 and "scheduler='asha', not 'median'" in other.output
    off = CliRunner().invoke(app, ["search", str(config), "--scheduler", "none", "--name", "off"])
    assert off.exit_code == 0, off.output
    plain = nf.load_experiment("off", db).trials()
    assert [t.status for t in plain] == [TrialStatus.COMPLETE] * 6
