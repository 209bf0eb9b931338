"""Retraining: per-seed weights and metrics stored with the experiment, reused, exported."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from rich.console import Console

from nasforge.errors import ConfigError, NasforgeError, StorageError
from nasforge.estimation import FunctionEvaluator, TrialContext
from nasforge.estimation.train import TrainEvaluator
from nasforge.export import RETRAIN_KIND, export_model, load_model, retrain
from nasforge.spaces import NB201Space
from nasforge.trial import TrialStatus

if TYPE_CHECKING:
    from tests.export.conftest import MakeStore

CONV = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
POOL = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|"


@pytest.fixture
def space() -> NB201Space:
    return NB201Space(n_cells=1, channels=4)


@pytest.fixture
def trainer(signals: tuple[np.ndarray, ...]) -> TrainEvaluator:
    return TrainEvaluator(signals, epochs=1, batch_size=16, val_fraction=0.25)


def accuracy(model: torch.nn.Module, trainer: TrainEvaluator) -> float:
    data = trainer.load_data()
    with torch.inference_mode():
        predicted = model(torch.as_tensor(data.x_test)).argmax(dim=1).numpy()
    return float(100.0 * (predicted == data.y_test).mean())


def test_fit_trains_exactly_as_a_trial_does(space: NB201Space, trainer: TrainEvaluator) -> None:
    arch = space.parse(CONV)
    model, metrics = trainer.fit(arch, space, seed=3)
    assert metrics == trainer.evaluate(arch, TrialContext(space=space, seed=3))
    assert not model.training and accuracy(model, trainer) == metrics["test_acc"]
    seen: list[tuple[int, float]] = []
    _, longer = trainer.fit(arch, space, seed=3, epochs=2, on_epoch=lambda e, m: seen.append(e))
    assert seen == [1, 2] and longer["epochs"] == 2.0


def test_retrain_stores_each_seed_and_reports_mean_and_std(
    make_store: MakeStore, space: NB201Space, trainer: TrainEvaluator
) -> None:
    store = make_store(space, [POOL, CONV])  # trial 1 has the higher val_acc: the default
    result = retrain("exp", store, seeds=[0, 1], space=space, evaluator=trainer)
    assert (result.trial, result.arch, result.epochs) == (1, CONV, 1)
    expected = [
        trainer.evaluate(space.parse(CONV), TrialContext(space=space, seed=s))["test_acc"]
        for s in (0, 1)
    ]
    assert [s.test_acc for s in result.seeds] == expected
    assert result.mean() == pytest.approx(np.mean(expected))
    assert result.std() == pytest.approx(np.std(expected, ddof=1))  # the sample std
    assert result.summary() == (
        f"test_acc {np.mean(expected):.2f} ± {np.std(expected, ddof=1):.2f} (sample std) "
        "over seeds 0, 1 (epochs=1)"
    )
    records = store.artifacts(1, 1, kind=RETRAIN_KIND)
    assert [r.seed for r in records] == [0, 1]
    assert [r.metrics["test_acc"] for r in records] == expected
    assert records[0].info["arch"] == CONV and records[0].info["epochs"] == 1
    assert records[0].metrics["seconds"] > 0 and records[0].size > 1000

    again = retrain("exp", store, seeds=[1, 0], space=space, evaluator=trainer)
    assert [s.reused for s in again.seeds] == [True, True]
    assert [s.artifact_id for s in again.seeds] == [records[1].id, records[0].id]
    assert len(store.artifacts(1, 1, kind=RETRAIN_KIND)) == 2
    forced = retrain("exp", store, seeds=[0], space=space, evaluator=trainer, force=True)
    assert not forced.seeds[0].reused and forced.seeds[0].test_acc == expected[0]
    longer = retrain("exp", store, trial=1, seeds=[0], epochs=2, space=space, evaluator=trainer)
    assert longer.epochs == 2 and not longer.seeds[0].reused
    assert len(store.artifacts(1, 1, kind=RETRAIN_KIND)) == 4


def test_the_bar_ends_full_with_each_seed_printed_above_it(
    make_store: MakeStore, space: NB201Space, trainer: TrainEvaluator
) -> None:
    store = make_store(space, [CONV])
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    one = retrain("exp", store, seeds=[0], space=space, evaluator=trainer)
    assert math.isnan(one.std()) and " ± " not in one.summary()  # one seed: no spread
    assert one.summary().endswith("over seed 0 (epochs=1)")
    result = retrain(
        "exp",
        store,
        seeds=[0, 1],
        epochs=2,
        space=space,
        evaluator=trainer,
        progress=True,
        console=console,
        on_seed=lambda done: console.print(f"seed {done.seed} finished"),
    )
    assert len(result.seeds) == 2
    # the screen as a terminal shows it: each frame of the bar is erased before the next
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", out.getvalue())
    shown = [line.strip() for line in screen.split("\n") if line.strip()]
    assert "seed 0 finished" in shown and "seed 1 finished" in shown  # lines of their own
    assert "retrain seed 1 epoch 2" in shown[-1] and "4/4" in shown[-1]  # the bar ends full


def test_export_takes_the_retrained_seed_with_the_best_val_acc(
    make_store: MakeStore, space: NB201Space, trainer: TrainEvaluator, tmp_path: Path
) -> None:
    store = make_store(space, [CONV])
    result = retrain("exp", store, seeds=[0, 1, 2], space=space, evaluator=trainer)
    best = max(result.seeds, key=lambda s: (s.metrics["val_acc"], s.artifact_id))
    common = {"space": space, "evaluator": trainer}
    exported = export_model("exp", store, format="pytorch", out=tmp_path / "m.pt", **common)
    assert exported.trained and exported.weights.startswith(f"retrained seed {best.seed} ")
    assert accuracy(load_model(tmp_path / "m.pt"), trainer) == best.test_acc
    other = next(s for s in result.seeds if s.seed != best.seed)
    chosen = export_model(
        "exp", store, format="code", out=tmp_path / "n.py", seed=other.seed, **common
    )
    assert chosen.weights.startswith(f"retrained seed {other.seed} ") and chosen.check.passed
    with pytest.raises(ConfigError, match=r"seed=9: .* retrained seeds: 0, 1, 2"):
        export_model("exp", store, format="pytorch", out=tmp_path / "x.pt", seed=9, **common)


def test_bad_trials_experiments_and_options_fail_in_one_line(
    make_store: MakeStore, space: NB201Space, trainer: TrainEvaluator, tmp_path: Path
) -> None:
    statuses = [
        TrialStatus.COMPLETE,
        TrialStatus.FAILED,
        TrialStatus.PRUNED,
        TrialStatus.COMPLETE,
        TrialStatus.RUNNING,
    ]
    store = make_store(space, [CONV, POOL, CONV, POOL, CONV], statuses)
    common = {"space": space, "evaluator": trainer}
    messages = []
    for call in (
        lambda: retrain("exp", store, trial=7, **common),
        lambda: retrain("exp", store, trial=1, **common),
        lambda: retrain("exp", store, trial=4, **common),
        lambda: retrain("nope", store, **common),
        lambda: retrain("exp", store, seeds=[0, 0], **common),
        lambda: retrain("exp", store, seeds=[], **common),
        lambda: retrain("exp", store, epochs=0, **common),
        lambda: retrain("exp", store),
        lambda: retrain("exp", store, space=space, evaluator=FunctionEvaluator(len)),
        lambda: export_model("exp", store, format="keras", out=tmp_path / "m", **common),
        lambda: export_model("exp", store, format="code", out=tmp_path / "m.txt", **common),
        lambda: load_model(tmp_path / "missing.pt"),
    ):
        with pytest.raises(NasforgeError) as caught:
            call()
        messages.append(str(caught.value))
    assert all("\n" not in m for m in messages)
    expected = [
        "trial=7: experiment 'exp' has no such trial (trials: 0..4); complete or pruned: 0, 2-3",
        "trial=1 of experiment 'exp' is failed, not complete or pruned; allowed: 0, 2-3",
        "trial=4 of experiment 'exp' is running, not complete or pruned; allowed: 0, 2-3",
        "no experiment 'nope' in",
        "seeds=[0, 0] names a seed twice",
        "seeds=[]; allowed: a non-empty list of integers >= 0",
        "epochs=0; allowed: an integer >= 1",
        "experiment 'exp' was made from Python with a space that is not a registered one",
        "evaluator=FunctionEvaluator: experiment 'exp' cannot be retrained with it",
        "format='keras'; allowed: 'pytorch', 'torchscript', 'onnx' or 'code'",
        "format 'code' writes Python source; allowed: a .py path",
        "no such file",
    ]
    for message, start in zip(messages, expected, strict=True):
        assert start in message, message
    with pytest.raises(StorageError, match="experiments: 'exp'"):
        retrain("nope", store, **common)


def test_an_experiment_without_a_complete_trial_says_so(
    make_store: MakeStore, space: NB201Space, trainer: TrainEvaluator
) -> None:
    store = make_store(space, [CONV], [TrialStatus.PRUNED])
    with pytest.raises(NasforgeError, match="no complete trial yet; usable trials: 0"):
        retrain("exp", store, space=space, evaluator=trainer)
    assert retrain("exp", store, trial=0, seeds=[0], space=space, evaluator=trainer).trial == 0
