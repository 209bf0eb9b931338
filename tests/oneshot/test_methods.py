"""The one-shot methods on a real (tiny) supernet and real data: each learns its architecture,
records an arch per epoch with its arch weights, resumes a killed search to the same end, is
refused in one line where it cannot run, and its result retrains and exports like any trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.export import export_model, load_model, retrain
from nasforge.oneshot import EPOCH_KIND
from nasforge.oneshot.methods import FINAL_KIND, RECALIBRATION_SAMPLES, Darts, SupernetSearch
from nasforge.storage import Storage
from nasforge.training import score

SPACE = {"n_cells": 1, "channels": 4}
# digits (8x8 images), 80% held out: a few hundred training samples, a few steps an epoch
EVALUATOR = {"dataset": "digits", "epochs": 1, "batch_size": 64, "val_fraction": 0.8}
TINY = {"batch_size": 64, "report_archs": 0, "report_pool": 4}


def experiment(tmp_path: Path, method: str, name: str = "oneshot", **options: Any) -> nf.Experiment:
    return nf.Experiment(
        space=nf.create_space("nb201", **SPACE),
        evaluator=nf.create_evaluator("train", **EVALUATOR),
        strategy=method,
        strategy_options={**TINY, **options},
        storage=f"sqlite:///{tmp_path / 'store.db'}",
        name=name,
        seed=0,
    )


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("darts", {}),
        ("darts", {"order": 2, "remedy": "beta-decay"}),
        ("drnas", {"remedy": "random-smoothing"}),
        ("gdas", {}),
        ("drnas", {}),
        ("enas", {"controller_steps": 5, "derive_samples": 3}),
        ("random-one-shot", {"search_trials": 6}),
    ],
)
def test_each_method_learns_and_records_every_epoch(
    tmp_path: Path, method: str, options: dict[str, Any]
) -> None:
    exp = experiment(tmp_path, method, epochs=2, **options)
    trials = exp.run(progress=False)
    searched: SupernetSearch = exp.strategy_  # type: ignore[assignment]
    epochs = [t for t in trials if "epoch" in t.metrics]
    assert [t.metrics["epoch"] for t in epochs] == [1.0, 2.0]
    assert all(t.metrics["standalone"] == 0.0 and 0 <= t.metrics["val_acc"] <= 100 for t in trials)
    store = Storage(f"sqlite:///{tmp_path / 'store.db'}")
    records = [a.info for a in store.artifacts(exp.record.id, kind=EPOCH_KIND)]
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]["weights"]) == set(searched.supernet_.labels)
    if method in ("darts", "gdas", "drnas"):  # the architecture parameters moved
        first, last = records[0]["weights"], records[1]["weights"]
        assert first != last
        assert all(abs(sum(p.values()) - 1) < 1e-5 for p in last.values())
    if method == "enas":
        assert searched.controller.history_  # the controller was told its rewards
    if method == "random-one-shot":
        assert len(trials) == 2 + 6  # the epochs, then the archs searched on the supernet


def test_a_killed_search_resumes_to_the_end_of_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = experiment(tmp_path, "darts", name="whole", epochs=3).run(progress=False)

    # killed after epoch 2's checkpoint was stored, before its trial was
    calls = {"n": 0}
    original = SupernetSearch._record_epoch

    def record_then_die(self: SupernetSearch, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        original(self, *args)

    monkeypatch.setattr(SupernetSearch, "_record_epoch", record_then_die)
    with pytest.raises(KeyboardInterrupt):
        experiment(tmp_path, "darts", name="killed", epochs=3).run(progress=False)
    monkeypatch.setattr(SupernetSearch, "_record_epoch", original)
    resumed = experiment(tmp_path, "darts", name="killed", epochs=3)
    resumed.run(progress=False)
    after = resumed.trials()
    assert [t.arch.key for t in after] == [t.arch.key for t in whole]
    for a, b in zip(after, whole, strict=True):
        assert a.metrics["val_acc"] == b.metrics["val_acc"]
        assert a.metrics.get("train_loss") == b.metrics.get("train_loss")  # none: the final


KILLED_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from nasforge.oneshot.methods import RECALIBRATION_SAMPLES, Darts, SupernetSearch
from tests.oneshot.test_methods import experiment

original = SupernetSearch._checkpoint
calls = []

def checkpoint_then_die(self, *args):
    original(self, *args)
    calls.append(1)
    if len(calls) == 2:  # epoch 2's checkpoint is stored: die at once, no cleanup at all
        os.kill(os.getpid(), signal.SIGKILL)

SupernetSearch._checkpoint = checkpoint_then_die
experiment(Path({folder!r}), "darts", name="killed", epochs=3).run(progress=False)
"""


def test_a_sigkilled_search_resumes_to_the_end_of_an_uninterrupted_one(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[2])
    script = KILLED_SCRIPT.format(root=root, folder=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    killed = Storage(f"sqlite:///{tmp_path / 'store.db'}")
    record = killed.get_experiment("killed")
    assert len(killed.trials(record.id)) == 1  # epoch 2 was checkpointed, not yet recorded
    resumed = experiment(tmp_path, "darts", name="killed", epochs=3)
    resumed.run(progress=False)
    whole = experiment(tmp_path, "darts", name="whole", epochs=3).run(progress=False)
    after = resumed.trials()
    assert [t.arch.key for t in after] == [t.arch.key for t in whole]
    for a, b in zip(after, whole, strict=True):
        assert a.metrics["val_acc"] == b.metrics["val_acc"]
        # the killed epochs ran in another process, whose CPU kernels may sum in another order
        assert a.metrics.get("train_loss", 0) == pytest.approx(
            b.metrics.get("train_loss", 0), rel=1e-6
        )  # the final pick has none


def test_a_search_stopped_by_its_budget_goes_on_from_its_checkpoint(tmp_path: Path) -> None:
    first = experiment(tmp_path, "gdas", name="budget", epochs=2)
    assert len(first.run(max_trials=1, progress=False)) == 1
    again = experiment(tmp_path, "gdas", name="budget", epochs=2)
    assert [t.metrics["epoch"] for t in again.run(progress=False)] == [2.0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "strategy 'darts': epochs must be an integer >= 1, got 0"),
        ({"order": 3}, "strategy 'darts': order=3; allowed: 1 or 2"),
        ({"remedy": "magic"}, "remedy='magic'; allowed: 'beta-decay' or 'random-smoothing' or"),
        ({"bn_affine": "yes"}, "bn_affine must be true or false"),
        ({"bn_recalibrate": 1}, "bn_recalibrate must be true or false"),
        ({"fixed": {"nope": 1}}, "fixed names 'nope', not a choice of space 'nb201'"),
        ({"train_portion": 1.0}, "train_portion must be a number in [0.05, 0.95]"),
        ({"warmup_epochs": 10}, "warmup_epochs=10 leaves no epoch to learn the architecture"),
        ({"selection": "best"}, "selection='best'; allowed: 'magnitude' or 'perturbation'"),
        ({"tune_steps": -1}, "strategy 'darts': tune_steps must be an integer >= 0, got -1"),
        (
            {"tune_steps": 5, "selection": "magnitude"},
            "tune_steps=5 fine-tunes between the decisions of selection",
        ),
    ],
)
def test_bad_options_are_one_line_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        nf.create_strategy("darts", nf.create_space("nb201", **SPACE), 0, **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": 0}, "strategy 'enas': temperature must be a number >= 1e-06, got 0"),
        ({"tanh_constant": "x"}, "strategy 'enas': tanh_constant must be a number"),
        ({"derive_samples": 0}, "strategy 'enas': derive_samples must be an integer >= 1"),
    ],
)
def test_bad_enas_options_are_one_line_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        nf.create_strategy("enas", nf.create_space("nb201", **SPACE), 0, **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_defaults_pick_by_perturbation_and_darts_warms_up_a_third() -> None:
    space = nf.create_space("nb201", **SPACE)
    darts: Any = nf.create_strategy("darts", space, 0, epochs=15)
    assert darts.selection == "perturbation" and darts.warmup_epochs == 5
    assert nf.create_strategy("darts", space, 0, epochs=2).warmup_epochs == 0  # type: ignore[attr-defined]
    paper: Any = nf.create_strategy("darts", space, 0, selection="magnitude", warmup_epochs=0)
    assert (paper.selection, paper.warmup_epochs) == ("magnitude", 0)
    assert paper.collapse_advice().startswith("try selection: perturbation")
    for name in ("gdas", "drnas"):
        method: Any = nf.create_strategy(name, space, 0, epochs=15)
        assert method.selection == "perturbation" and method.warmup_epochs == 0
    # no warm-up for a method without architecture parameters to hold back
    assert nf.create_strategy("enas", space, 0, epochs=15).warmup_epochs == 0  # type: ignore[attr-defined]


def test_without_a_report_the_final_pick_is_a_trial_of_its_own(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "darts", epochs=2)  # TINY: report_archs 0
    trials = exp.run(progress=False)
    method: Any = exp.strategy_
    data = method._data(exp.evaluator, torch.device("cpu"))
    final = method.final_arch(data)  # by perturbation, the default
    last_epoch = trials[1].arch
    stored = Storage(f"sqlite:///{tmp_path / 'store.db'}")
    marks = [a.info for a in stored.artifacts(exp.record.id, kind=FINAL_KIND)]
    assert [m["derived"] for m in marks] == [final.key]
    if final != last_epoch:  # the pick differs from every epoch's: recorded, estimate and all
        assert len(trials) == 3 and trials[2].arch == final
        assert trials[2].metrics["final"] == 1.0 and trials[2].metrics["standalone"] == 0.0
        assert marks[0]["trial"] == trials[2].number
    # an ended search runs no more
    again = experiment(tmp_path, "darts", epochs=2)
    assert again.run(progress=False) == [] and len(again.trials()) == len(trials)


def test_perturbation_selection_keeps_what_the_supernet_relies_on(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "darts", epochs=1, selection="perturbation")
    exp.run(progress=False)
    method: Any = exp.strategy_
    data = method._data(exp.evaluator, torch.device("cpu"))
    importance = method.importance(data)
    supernet = method.supernet_
    assert set(importance) == set(supernet.op_labels)
    assert all(row["none"] == 0.0 for row in importance.values())  # removing zeros costs nothing
    # each importance is the loss of quality when that candidate alone is weighed 0
    label, row = next(iter(importance.items()))
    name = max((n for n in row if n != "none"), key=row.__getitem__)
    weights = supernet.weights()
    x = data.x_val[:8]
    with torch.no_grad(), supernet.weighed(weights):
        full = supernet(x)
    with torch.no_grad(), supernet.weighed({**weights, label: {**weights[label], name: 0.0}}):
        without = supernet(x)
    assert not torch.allclose(full, without)
    # the final arch is the space's rule applied to the importances, and the run says so
    assert method.final_arch(data) == supernet.derive(importance)
    assert method.settings()["selection"] == "perturbation"


def test_tuned_perturbation_selection_decides_one_choice_at_a_time(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "darts", epochs=1, selection="perturbation", tune_steps=2)
    exp.run(progress=False)
    method: Any = exp.strategy_
    supernet = method.supernet_
    data = method._data(exp.evaluator, torch.device("cpu"))
    weights = [p.detach().clone() for p in supernet.weight_parameters()]
    alphas = [p.detach().clone() for p in supernet.arch_parameters()]
    trained = {k: v.clone() for k, v in supernet.state_dict().items()}
    untuned = method.importance(data)

    def run() -> dict[str, dict[str, float]]:
        supernet.load_state_dict(trained)  # weights and batch-norm statistics as trained
        return method.tuned_importance(data)  # type: ignore[no-any-return]

    tuned = run()
    assert set(tuned) == set(supernet.op_labels)
    # the first choice is scored on the trained supernet, the later ones after fine-tuning
    first = next(iter(tuned))
    assert tuned[first] == pytest.approx(untuned[first])
    assert any(tuned[k] != pytest.approx(untuned[k]) for k in tuned)
    now = supernet.weight_parameters()
    assert any(not torch.equal(p, w) for p, w in zip(now, weights, strict=True))
    frozen = zip(supernet.arch_parameters(), alphas, strict=True)
    assert all(torch.equal(p, a) for p, a in frozen)  # the architecture parameters did not learn
    assert run() == tuned  # the order and the batches come from the seed
    assert method.settings()["tune_steps"] == 2


def test_a_candidate_weighed_zero_is_skipped_and_changes_nothing(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "darts", epochs=1)
    exp.run(progress=False)
    supernet: Any = exp.strategy_.supernet_  # type: ignore[attr-defined]
    weights = supernet.weights()
    label = next(iter(weights))
    names = list(weights[label])
    calls: list[str] = []
    mixed = supernet._mixed[label][0]
    hooks = [
        mixed.candidates[n].register_forward_hook(lambda *_, n=n: calls.append(n)) for n in names
    ]
    x = torch.randn(4, *exp.evaluator.load_data().x_train.shape[1:])
    one_hot = {**weights, label: {n: float(n == names[1]) for n in names}}
    with torch.no_grad(), supernet.weighed(one_hot):
        skipped = supernet(x)
    assert set(calls) == {names[1]}  # the candidates weighed 0 were not computed
    nearly = {**weights, label: {n: (1.0 if n == names[1] else 1e-30) for n in names}}
    with torch.no_grad(), supernet.weighed(nearly):
        computed = supernet(x)
    for hook in hooks:
        hook.remove()
    torch.testing.assert_close(skipped, computed)


def test_random_smoothing_perturbs_only_the_weight_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, Any]] = []  # (step, the noise the supernet reads in it)
    arch_step, after_weight_step = Darts.arch_step, Darts.after_weight_step

    def watch_arch(self: Any, *args: Any) -> None:
        seen.append(("arch", self.supernet_._router.noise))
        arch_step(self, *args)

    def watch_weight(self: Any) -> None:
        seen.append(("weight", self.supernet_._router.noise))
        after_weight_step(self)

    monkeypatch.setattr(Darts, "arch_step", watch_arch)
    monkeypatch.setattr(Darts, "after_weight_step", watch_weight)
    exp = experiment(tmp_path, "darts", epochs=2, remedy="random-smoothing", remedy_weight=0.2)
    exp.run(progress=False)
    method: Any = exp.strategy_
    assert method.settings()["remedy"] == "random-smoothing"
    assert method.settings()["remedy_weight"] == 0.2
    weights = [noise for step, noise in seen if step == "weight"]
    assert weights and all(set(n) == set(method.supernet_.labels) for n in weights)
    drawn = torch.cat([v for n in weights for v in n.values()])
    assert drawn.abs().max() <= 0.2 and drawn.std() > 0.05  # uniform in [-0.2, 0.2]
    assert any(step == "arch" for step, _ in seen)
    assert all(noise is None for step, noise in seen if step == "arch")
    assert method.supernet_._router.noise is None  # nothing left after the search
    # the weights see the relaxation of the perturbed parameters
    supernet, x = method.supernet_, torch.randn(8, 1, 8, 8)  # digits: 8x8 images
    supernet.eval()
    with torch.no_grad():
        plain = supernet(x)
        supernet.perturb({label: torch.full_like(a, 0.0) for label, a in supernet.alphas.items()})
        assert torch.allclose(supernet(x), plain)
        label = next(iter(supernet.op_labels))
        shift = torch.zeros_like(supernet.alphas[label])
        shift[0] = 5.0
        supernet.perturb({label: shift})
        assert not torch.allclose(supernet(x), plain)
        supernet.perturb(None)
        assert torch.allclose(supernet(x), plain)


def test_a_path_is_scored_with_its_own_batch_norm_statistics(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "random-one-shot", epochs=2, search_trials=2, bn_recalibrate=True)
    exp.run(progress=False)
    method: Any = exp.strategy_
    assert method.settings()["bn_recalibrate"] is True
    data = method._data(exp.evaluator, torch.device("cpu"))
    supernet = method.supernet_
    arch = method._sample_archs(1)[0]
    norms = [
        m
        for m in supernet.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    assert norms  # the stem's and the cells' batch norms keep running statistics
    # statistics that no path produced (as an average over many paths may be) ...
    for m in norms:
        m.running_mean.fill_(5.0)
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    loss, accuracy = method._score(data, arch)
    # ... are not what the estimate uses, and come back unchanged afterwards
    assert all(torch.equal(v, before[k]) for k, v in supernet.state_dict().items())
    method.bn_recalibrate = False
    stale_loss, stale_accuracy = method._score(data, arch)
    assert loss < stale_loss and accuracy > stale_accuracy
    # the estimate is the path's network with its statistics on the fixed training samples
    supernet.set_mode("path")
    supernet.use(supernet.path_of(arch))
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    supernet.train()
    rows = method._rows_w[:RECALIBRATION_SAMPLES]
    with torch.no_grad():
        supernet(data.x_train[rows])
    assert score(supernet, data.x_val, data.y_val) == pytest.approx((loss, accuracy))


def test_what_a_one_shot_method_cannot_do_is_refused(tmp_path: Path) -> None:
    space = nf.create_space("nb201", **SPACE)
    with pytest.raises(ConfigError, match=r"estimates 'val_acc' or 'val_loss'.*not 'params'"):
        nf.create_strategy("darts", space, 0, objectives={"params": "min"})
    table = nf.Experiment(
        space=space,
        evaluator=nf.FunctionEvaluator(lambda arch: {"val_acc": 1.0}),
        strategy="darts",
        storage=f"sqlite:///{tmp_path / 'f.db'}",
        name="fn",
    )
    with pytest.raises(ConfigError, match="trains a supernet on the evaluator's data"):
        table.run(progress=False)
    with pytest.raises(ConfigError, match="input choice 'skip1' cannot be relaxed by mode"):
        nf.Experiment(
            space=nf.create_space("pytorch"),
            evaluator=nf.create_evaluator("train", **EVALUATOR),
            strategy="darts",
            strategy_options=TINY,
            storage=f"sqlite:///{tmp_path / 'u.db'}",
            name="user",
        ).run(progress=False)


def test_a_memory_overrun_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nasforge.oneshot.supernet.available_memory", lambda device: 1e5)
    with pytest.raises(ConfigError, match=r"needs about \d+ MiB at batch_size=64 .* batch_size <="):
        experiment(tmp_path, "darts", epochs=1).run(progress=False)
    assert experiment(tmp_path, "darts", epochs=1).trials() == []


def test_the_derived_arch_retrains_and_exports_like_any_trial(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "random-one-shot", epochs=1, search_trials=3)
    exp.run(progress=False)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    best = exp.best()
    assert best is not None
    retrain("oneshot", store, trial=best.number, seeds=[0], epochs=1)
    result = export_model("oneshot", store, format="pytorch", out=tmp_path / "m.pt")
    assert result.check.passed
    model = load_model(tmp_path / "m.pt")
    x = torch.zeros(2, 1, 8, 8)
    assert model(x).shape == (2, 10)


def test_one_shot_methods_are_listed_apart_from_ask_tell_strategies() -> None:
    from nasforge.strategies import list_strategies

    one_shot = list_strategies("one-shot")
    assert one_shot == ["darts", "gdas", "drnas", "enas", "random-one-shot"]
    assert not set(one_shot) & set(list_strategies())  # what conformance suites run over
    assert sorted(list_strategies("all")) == sorted(list_strategies() + one_shot)
    with pytest.raises(ConfigError, match="kind='x'; allowed: 'multi-trial', 'one-shot', 'all'"):
        list_strategies("x")


def test_the_honesty_report_ends_the_run_and_resumes_without_training_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasforge.oneshot import report as report_module
    from nasforge.oneshot.report import load_report

    trained: list[str] = []
    original = report_module._train_alone

    def counted(session: Any, arch: nf.Arch, *args: Any, **kwargs: Any) -> Any:
        trained.append(arch.key)
        if len(trained) == 2:
            raise KeyboardInterrupt  # killed while training the second pick
        return original(session, arch, *args, **kwargs)

    monkeypatch.setattr(report_module, "_train_alone", counted)
    options = {"epochs": 1, "report_archs": 3, "report_pool": 6}
    with pytest.raises(KeyboardInterrupt):
        experiment(tmp_path, "darts", **options).run(progress=False)
    exp = experiment(tmp_path, "darts", **options)
    exp.run(progress=False)
    report = load_report(exp.storage, exp.record.id)
    assert report is not None and len(report.rows) == 3
    assert report.rows[0].role == "derived" and report.derived == report.rows[0].arch
    assert len(trained) == 4  # the first pick once, the second twice (killed), the third once
    standalone = [t for t in exp.trials() if t.metrics.get("standalone") == 1.0]
    assert [t.arch.key for t in standalone] == [r.arch for r in report.rows]
    assert all(0 <= r.standalone_val_acc <= 100 for r in report.rows)
    assert report.settings["bn_affine"] is False and report.settings["remedy"] is None
    # a search that has ended runs no more when it is run again
    again = experiment(tmp_path, "darts", **options)
    assert again.run(progress=False) == [] and len(again.trials()) == len(exp.trials())


@pytest.mark.parametrize("method", ["darts", "enas"])
def test_mixed_precision_trains_the_supernet(tmp_path: Path, method: str) -> None:
    exp = nf.Experiment(  # bfloat16 autocast on the CPU: the code path CUDA takes with amp
        space=nf.create_space("nb201", **SPACE),
        evaluator=nf.create_evaluator("train", **EVALUATOR, amp=True),
        strategy=method,
        strategy_options={**TINY, "epochs": 1, "controller_steps": 2}
        if method == "enas"
        else {**TINY, "epochs": 1},
        storage=f"sqlite:///{tmp_path / 'amp.db'}",
        name="amp",
    )
    trial, *final = exp.run(progress=False)  # darts, gdas: and their pick by perturbation
    assert 0 <= trial.metrics["val_acc"] <= 100 and trial.metrics["train_loss"] > 0
    assert all(0 <= t.metrics["val_acc"] <= 100 and t.metrics["final"] == 1 for t in final)
