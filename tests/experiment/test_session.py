"""``RunSession``: the narrow view of an experiment the loop and one-shot methods run against."""

from __future__ import annotations

import math

import nasforge as nf
from nasforge.experiment.session import RunSession
from nasforge.storage import Storage
from nasforge.trial import TrialStatus

SPACE = nf.CellSpace(3, ["skip_connect", "conv"])


def session(objectives: object = None) -> RunSession:
    store = Storage("sqlite:///:memory:")
    record = store.create_experiment("s", 0, {"convs": "max"}, {})
    return RunSession(
        store,
        record.id,
        nf.Objectives.parse(objectives or {"convs": "max", "params": "min"}),
        SPACE,
        nf.FunctionEvaluator(lambda arch: {"convs": 1.0}),
        seed=4,
    )


def test_record_stores_a_finished_trial_with_scores_curve_and_sequence() -> None:
    s = session()
    arch = SPACE.parse("|conv~0|+|conv~0|skip_connect~1|")
    first = s.record(arch, {"convs": 2.0, "params": 10.0}, {1: {"convs": 1.0}, 2: {"convs": 2.0}})
    assert (first.number, first.scores, first.ask_seq, first.tell_seq) == (0, (2.0, -10.0), 0, 1)
    missing = s.record(arch, {"convs": 2.0})  # params missing: failed, with the reason
    assert missing.status == TrialStatus.FAILED and "no objective 'params'" in (missing.error or "")
    pruned = s.record(arch, {}, {3: {"convs": 0.5}}, status=TrialStatus.PRUNED)
    assert pruned.metrics == {"convs": 0.5} and pruned.scores is None
    stored = s.trials()
    assert [t.number for t in stored] == [0, 1, 2]
    assert stored[0].intermediate == {1: {"convs": 1.0}, 2: {"convs": 2.0}}
    assert stored[0].seed == 4 and stored[0].status == TrialStatus.COMPLETE


def test_resume_continues_numbers_and_the_sequence_after_what_is_stored() -> None:
    s = session()
    arch = SPACE.sample(__import__("numpy").random.default_rng(0))
    s.record(arch, {"convs": 1.0, "params": 1.0})
    again = RunSession(s.storage, s.experiment_id, s.objectives, SPACE, s.evaluator)
    again.resume(again.trials())
    trial = again.record(arch, {"convs": 1.0, "params": math.inf})
    assert (trial.number, trial.ask_seq, trial.tell_seq) == (1, 2, 3)
    assert trial.status == TrialStatus.FAILED  # an infinite objective is not a score


def test_checkpoints_keep_the_newest_only() -> None:
    s = session()
    assert s.last_checkpoint() is None
    s.checkpoint(b"first", {"step": 1})
    s.checkpoint(b"second", {"step": 2})
    assert s.last_checkpoint() == b"second"
    assert len(s.storage.artifacts(s.experiment_id, kind="checkpoint")) == 1


def test_an_experiments_session_continues_after_its_stored_trials(tmp_path) -> None:
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=lambda arch: {"convs": float(arch.key.count("conv"))},
        objectives={"convs": "max"},
        storage=tmp_path / "s.db",
    )
    exp.run(max_trials=3, progress=False)
    recorded = exp.session().record(SPACE.parse("|conv~0|+|conv~0|conv~1|"), {"convs": 3.0})
    assert (recorded.number, recorded.ask_seq) == (3, 6)
    assert [t.number for t in exp.trials()] == [0, 1, 2, 3]


def test_a_nan_or_infinite_objective_fails_the_trial_saying_so() -> None:
    s = session()
    arch = SPACE.parse("|conv~0|+|conv~0|skip_connect~1|")
    nan = s.record(arch, {"convs": math.nan, "params": 1.0})
    assert nan.status == TrialStatus.FAILED and nan.scores is None
    assert nan.error == (
        "the evaluator returned objective 'convs' as nan; an objective must be a finite "
        "number, not NaN or infinite"
    )
    inf = s.record(arch, {"convs": 2.0, "params": -math.inf})
    assert inf.error is not None and "'params' as -inf" in inf.error
    missing = s.record(arch, {"convs": 2.0})
    assert missing.error == "the evaluator returned no objective 'params'; it returned ['convs']"
