"""Ensembles of a search's best trials: weights kept by the search, combined, exported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.lineage import WEIGHTS_KIND
from nasforge.export import ExportResult, export_model, load_model
from nasforge.export.ensemble import ensemble
from nasforge.spaces import NB201Space
from nasforge.training import prepare_data
from nasforge.training.models import EnsembleModel


@pytest.fixture
def space() -> NB201Space:
    return NB201Space(n_cells=1, channels=4)


def trainer(signals: tuple[np.ndarray, ...], keep: bool) -> TrainEvaluator:
    return TrainEvaluator(signals, epochs=2, batch_size=16, val_fraction=0.25, keep_weights=keep)


def search(
    tmp_path: Path,
    space: NB201Space,
    evaluator: TrainEvaluator,
    name: str = "exp",
    trials: int = 5,
    **options: Any,
) -> nf.Experiment:
    exp = nf.Experiment(
        space=space,
        strategy="random",
        evaluator=evaluator,
        objectives={"val_acc": "max"},
        storage=f"sqlite:///{tmp_path / 'runs.db'}",
        name=name,
        seed=0,
        **options,
    )
    exp.run(max_trials=trials)
    return exp


def export_pytorch(
    exp: nf.Experiment, out: Path, space: NB201Space, evaluator: TrainEvaluator
) -> ExportResult:
    return export_model(
        exp.name, exp.storage, format="pytorch", out=out, space=space, evaluator=evaluator
    )


@pytest.fixture
def kept(
    tmp_path: Path, space: NB201Space, signals: tuple[np.ndarray, ...]
) -> tuple[nf.Experiment, TrainEvaluator]:
    evaluator = trainer(signals, keep=True)
    return search(tmp_path, space, evaluator), evaluator


def test_keep_weights_stores_each_trial_and_changes_no_result(
    tmp_path: Path,
    space: NB201Space,
    signals: tuple[np.ndarray, ...],
    kept: tuple[nf.Experiment, TrainEvaluator],
) -> None:
    exp, _ = kept
    plain = search(tmp_path, space, trainer(signals, keep=False), name="plain")
    assert [t.metrics for t in exp.trials()] == [t.metrics for t in plain.trials()]
    stored = exp.storage.artifacts(exp.record.id, kind=WEIGHTS_KIND)
    assert sorted(a.trial_number for a in stored) == [t.number for t in exp.trials()]
    assert not plain.storage.artifacts(plain.record.id, kind=WEIGHTS_KIND)
    with pytest.raises(ConfigError, match=r"keep_weights='yes'; allowed: true or false"):
        TrainEvaluator(signals, keep_weights="yes")  # type: ignore[arg-type]


def test_an_ensemble_of_one_is_the_best_trial_as_the_search_trained_it(
    space: NB201Space, kept: tuple[nf.Experiment, TrainEvaluator]
) -> None:
    exp, evaluator = kept
    best = exp.best()
    assert best is not None
    model, result = ensemble("exp", exp.storage, size=1, space=space, evaluator=evaluator)
    assert [m.trial for m in result.members] == [best.number]
    # the kept weights and the trial's own split give back the trial's own scores
    assert result.test_acc == best.metrics["test_acc"]
    assert result.val_acc == best.metrics["val_acc"]
    assert isinstance(model, EnsembleModel) and len(model.members) == 1


def test_an_ensemble_averages_the_probabilities_of_the_best_by_val_acc(
    space: NB201Space, kept: tuple[nf.Experiment, TrainEvaluator]
) -> None:
    exp, evaluator = kept
    model, result = ensemble("exp", exp.storage, size=3, space=space, evaluator=evaluator)
    ranked = sorted(exp.trials(), key=lambda t: (-t.metrics["val_acc"], t.number))
    assert [m.trial for m in result.members] == [t.number for t in ranked[:3]]
    data = prepare_data(evaluator.load_data(), torch.device("cpu"), 0.25, 0, None)
    with torch.inference_mode():
        out = model(data.x_test)
        probs = torch.stack([m(data.x_test).softmax(-1) for m in model.members]).mean(0)
    assert torch.allclose(out.exp(), probs, atol=1e-6)  # log of the mean softmax
    expected = 100.0 * float((probs.argmax(1) == data.y_test).float().mean())
    assert result.test_acc == pytest.approx(expected)
    assert result.summary().startswith(
        f"ensemble of trials {', '.join(str(m.trial) for m in result.members)}: test_acc "
    )
    assert f"(trial {ranked[0].number} alone: " in result.summary()
    more = ensemble("exp", exp.storage, size=50, space=space, evaluator=evaluator)[1]
    assert len(more.members) == len(exp.trials())  # at most the trials that kept weights


def test_an_ensemble_needs_kept_weights_and_a_size(
    tmp_path: Path, space: NB201Space, signals: tuple[np.ndarray, ...]
) -> None:
    evaluator = trainer(signals, keep=False)
    exp = search(tmp_path, space, evaluator)
    with pytest.raises(ConfigError, match="no complete trial kept its weights; allowed: a search"):
        ensemble("exp", exp.storage, space=space, evaluator=evaluator)
    with pytest.raises(ConfigError, match=r"size=0; allowed: an integer >= 1"):
        ensemble("exp", exp.storage, size=0, space=space, evaluator=evaluator)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_an_ensemble_exports_and_loads_back(
    tmp_path: Path, space: NB201Space, kept: tuple[nf.Experiment, TrainEvaluator]
) -> None:
    exp, evaluator = kept
    common = {"space": space, "evaluator": evaluator, "ensemble": 3}
    model, result = ensemble("exp", exp.storage, size=3, space=space, evaluator=evaluator)
    for format, out in (("pytorch", "e.pt"), ("torchscript", "e.ts"), ("onnx", "e.onnx")):
        done = export_model("exp", exp.storage, format=format, out=tmp_path / out, **common)
        assert done.check.passed and done.trained, done.check.line()
        assert done.arch == "the ensemble of trials " + ", ".join(
            str(m.trial) for m in result.members
        )
    loaded = load_model(tmp_path / "e.pt", space=space)
    assert isinstance(loaded, EnsembleModel) and len(loaded.members) == 3
    x = torch.as_tensor(evaluator.load_data().x_test)
    with torch.inference_mode():
        assert torch.equal(loaded(x), model(x))
    with pytest.raises(ConfigError, match="format='code' with ensemble=3: the source file"):
        export_model("exp", exp.storage, format="code", out=tmp_path / "e.py", **common)
    with pytest.raises(ConfigError, match=r"trial=1 with ensemble=3: .* allowed: trial or"):
        export_model("exp", exp.storage, format="onnx", out=tmp_path / "x", trial=1, **common)


def test_a_trial_that_kept_its_weights_exports_trained_without_a_retrain(
    tmp_path: Path, space: NB201Space, kept: tuple[nf.Experiment, TrainEvaluator]
) -> None:
    exp, evaluator = kept
    best = exp.best()
    assert best is not None
    done = export_pytorch(exp, tmp_path / "m.pt", space, evaluator)
    assert done.trained and done.weights.startswith("the search's own training (trial seed ")
    data = evaluator.load_data()
    with torch.inference_mode():
        predicted = load_model(tmp_path / "m.pt", space=space)(torch.as_tensor(data.x_test))
    accuracy = 100.0 * float((predicted.argmax(1).numpy() == data.y_test).mean())
    assert accuracy == pytest.approx(best.metrics["test_acc"])


def test_a_search_resumes_with_keep_weights_turned_on(
    tmp_path: Path, space: NB201Space, signals: tuple[np.ndarray, ...]
) -> None:
    """``keep_weights`` changes no result, so a stored search resumes with it changed (as the
    main job's store from before the option does with today's YAML)."""
    common = {
        "space": space,
        "strategy": "random",
        "objectives": {"val_acc": "max"},
        "storage": f"sqlite:///{tmp_path / 'runs.db'}",
        "name": "exp",
        "seed": 0,
    }
    nf.Experiment(evaluator=trainer(signals, keep=False), **common).run(max_trials=2)
    evaluator = trainer(signals, keep=True)
    exp = nf.Experiment(evaluator=evaluator, **common)
    exp.run(max_trials=4)
    stored = exp.storage.artifacts(exp.record.id, kind=WEIGHTS_KIND)
    assert sorted(a.trial_number for a in stored) == [2, 3]
    _, result = ensemble("exp", exp.storage, space=space, evaluator=evaluator)
    assert {m.trial for m in result.members} == {2, 3}  # the trials that kept weights


def test_weights_kept_at_a_lower_fidelity_are_not_taken_for_the_full_network(
    tmp_path: Path, space: NB201Space, signals: tuple[np.ndarray, ...]
) -> None:
    evaluator = trainer(signals, keep=True)
    # trials train half as wide as the network exported
    exp = search(tmp_path, space, evaluator, "cheap", trials=2, fidelity={"channels": 2})
    with pytest.raises(ConfigError, match="do not fit its network at the evaluator's full size"):
        ensemble("cheap", exp.storage, space=space, evaluator=evaluator)
    done = export_pytorch(exp, tmp_path / "m.pt", space, evaluator)
    assert not done.trained and done.weights.startswith("UNTRAINED")
