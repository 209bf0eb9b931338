"""The slot one-shot methods plug into: chosen by the strategy name, run against a session that
records trials and keeps a checkpoint, resumed after a kill, refused where it makes no sense.

``Sweep`` is a method made for this test (not a product feature): it walks the space's archs
in order, evaluates each with the session's evaluator and records it, and checkpoints its
position every ``every`` archs, as a supernet method would checkpoint its weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.estimation import TrialContext
from nasforge.oneshot import OneShotMethod, SearchSession
from nasforge.strategies import STRATEGIES, register_strategy
from nasforge.trial import Trial

SPACE = nf.CellSpace(3, ["none", "skip_connect", "conv"])


class Sweep(OneShotMethod):
    """Evaluate every arch in enumeration order; checkpoint the position."""

    name = "test-sweep"

    def __init__(
        self, space: nf.Space, seed: int = 0, every: int = 3, *, objectives: object = None
    ) -> None:
        super().__init__(space, seed, objectives=objectives)  # type: ignore[arg-type]
        self.every = every

    def search(
        self,
        session: SearchSession,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> list[Trial]:
        state = session.last_checkpoint()
        position = json.loads(state)["position"] if state else 0
        archs = list(self.space.enumerate())
        recorded = {t.arch.key for t in session.trials()}
        done: list[Trial] = []
        while position < len(archs) and (max_trials is None or len(recorded) < max_trials):
            arch = archs[position]
            if arch.key not in recorded:  # recorded after the last checkpoint, before a kill
                ctx = TrialContext(number=position, seed=self.seed, space=self.space)
                metrics = session.evaluator.evaluate(arch, ctx)
                trial = session.record(arch, metrics, {1: metrics})
                recorded.add(arch.key)
                done.append(trial)
                if on_trial is not None:
                    on_trial(trial)
            position += 1
            if position % self.every == 0:
                session.checkpoint(json.dumps({"position": position}).encode())
        return done


def convs(arch: nf.Arch) -> dict[str, float]:
    return {"convs": float(arch.key.count("conv")), "skips": float(arch.key.count("skip"))}


@pytest.fixture()
def sweep() -> Iterator[None]:
    register_strategy("test-sweep", Sweep)  # type: ignore[arg-type]
    yield
    STRATEGIES.unregister("test-sweep")


def experiment(
    storage: Path, evaluator: Callable[..., object] = convs, **kw: object
) -> nf.Experiment:
    return nf.Experiment(
        SPACE,
        strategy="test-sweep",
        evaluator=evaluator,
        objectives={"convs": "max"},
        storage=storage,
        name="sweep",
        **kw,  # type: ignore[arg-type]
    )


def test_a_one_shot_method_records_its_trials_like_any_search(sweep: None, tmp_path: Path) -> None:
    seen: list[int] = []
    exp = experiment(tmp_path / "s.db")
    finished = exp.run(
        max_trials=10, progress=False, callbacks=[lambda e, t: seen.append(t.number)]
    )
    trials = exp.trials()
    assert [t.number for t in finished] == seen == list(range(10))
    assert [t.arch for t in trials] == list(SPACE.enumerate())[:10]
    assert all(
        t.scores == (t.metrics["convs"],) and t.intermediate == {1: dict(t.metrics)} for t in trials
    )
    assert [(t.ask_seq, t.tell_seq) for t in trials[:2]] == [(0, 1), (2, 3)]
    assert exp.best() is not None and exp.best().metrics["convs"] == max(
        t.metrics["convs"] for t in trials
    )
    # only the newest checkpoint is kept
    assert len(exp.storage.artifacts(exp.record.id, kind="checkpoint")) == 1


def test_a_killed_one_shot_search_resumes_from_its_checkpoint(sweep: None, tmp_path: Path) -> None:
    calls = {"n": 0}

    def killed_at_eight(arch: nf.Arch) -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return convs(arch)

    with pytest.raises(KeyboardInterrupt):
        experiment(tmp_path / "s.db", evaluator=killed_at_eight).run(max_trials=12, progress=False)
    stopped = experiment(tmp_path / "s.db")
    assert len(stopped.trials()) == 7  # trials 6 was recorded after the checkpoint at 6
    stopped.run(max_trials=12, progress=False)
    keys = [t.arch.key for t in stopped.trials()]
    assert keys == [a.key for a in list(SPACE.enumerate())[:12]]  # nothing twice, nothing lost
    assert [t.number for t in stopped.trials()] == list(range(12))


def test_a_one_shot_method_refuses_what_does_not_apply(sweep: None, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scheduler: strategy 'test-sweep' is a one-shot method"):
        experiment(tmp_path / "s.db", scheduler="asha", scheduler_options={"max_step": 3})
    with pytest.raises(ConfigError, match="executor: strategy 'test-sweep' is a one-shot method"):
        experiment(tmp_path / "s.db").run(
            max_trials=2, progress=False, executor="processes", workers=2
        )


def test_the_cli_runs_a_one_shot_method_by_its_strategy_name(sweep: None, tmp_path: Path) -> None:
    from nasforge.cli import app

    config = tmp_path / "sweep.yaml"
    config.write_text(
        "name: sweep-table\nspace: nb201\nstrategy: {name: test-sweep, options: {every: 5}}\n"
        "evaluator: {name: tabular}\nbudget: {max_trials: 7}\n"
        f"storage: sqlite:///{tmp_path / 'runs.db'}\n"
    )
    runner = CliRunner()
    result = runner.invoke(app, ["search", str(config), "--quiet"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(
        app, ["trials", "sweep-table", "--storage", str(tmp_path / "runs.db"), "--json"]
    )
    rows = json.loads(listed.output)
    assert [row["number"] for row in rows] == list(range(7))
    assert all(row["status"] == "complete" for row in rows)
