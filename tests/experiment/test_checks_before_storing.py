"""A bad device, fidelity or run option is refused before anything is stored: no store file is
created and no experiment record is written (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.estimation.train import TrainEvaluator
from nasforge.spaces import NB201Space
from nasforge.storage import Storage

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def score(arch: nf.Arch) -> dict[str, float]:
    return {"val_acc": float(arch.key.count("conv"))}


def experiment(path: Path, **kw: Any) -> nf.Experiment:
    kw.setdefault("evaluator", score)
    kw.setdefault("strategy", "random")
    return nf.Experiment(kw.pop("space", nf.CellSpace(4, OPS)), storage=path, name="e", **kw)


def names(path: Path) -> list[str]:
    return [r.name for r in Storage(f"sqlite:///{path}", create=False).list_experiments()]


@pytest.fixture()
def store_with_another(tmp_path: Path) -> Path:
    """A store that already holds experiment ``other``."""
    path = tmp_path / "s.db"
    nf.Experiment(nf.CellSpace(4, OPS), evaluator=score, storage=path, name="other").trials()
    return path


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "CUDA", "cuda:", "", None])
def test_a_device_that_is_no_device_is_refused_when_the_experiment_is_made(
    tmp_path: Path, device: Any
) -> None:
    path = tmp_path / "s.db"
    message = (
        f"device={device!r} is not a device; allowed: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        experiment(path, device=device)
    assert not path.exists()


def test_device_forms_that_are_fine(tmp_path: Path) -> None:
    for device in ("auto", "cpu", "cuda", "cuda:3", "mps"):
        assert experiment(tmp_path / "s.db", device=device).device == device
    assert not (tmp_path / "s.db").exists()


def absent_cuda_device() -> str:
    """A CUDA device this machine does not have, whatever it has."""
    return f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}"


def test_a_device_this_machine_lacks_is_refused_before_the_record_is_written(
    store_with_another: Path,
) -> None:
    device = absent_cuda_device()
    exp = experiment(
        store_with_another,
        space=NB201Space(n_cells=1, channels=4),
        evaluator=TrainEvaluator("digits", epochs=1),
        device=device,
    )
    with pytest.raises(
        ConfigError,
        match=rf"^device='{device}' but (CUDA is not available|this machine has \d CUDA device)",
    ):
        exp.run(max_trials=1, progress=False)
    # the evaluator's own device option is checked the same way, for worker processes too
    own = experiment(
        store_with_another,
        space=NB201Space(n_cells=1, channels=4),
        evaluator=TrainEvaluator("digits", epochs=1, device=device),
    )
    with pytest.raises(ConfigError, match=rf"^device='{device}' but"):
        own.run(max_trials=1, progress=False)
    workers = experiment(
        store_with_another,
        space=NB201Space(n_cells=1, channels=4),
        evaluator=TrainEvaluator("digits", epochs=1),
    )
    with pytest.raises(ConfigError, match=rf"^device='{device}' but"):
        workers.run(max_trials=1, progress=False, executor="processes", devices=device)
    assert names(store_with_another) == ["other"]


def test_an_evaluator_that_trains_nothing_takes_any_device_form(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "s.db", device=absent_cuda_device())  # a function evaluator
    assert len(exp.run(max_trials=2, progress=False)) == 2


@pytest.mark.parametrize(
    ("evaluator", "objectives", "fidelity", "message"),
    [
        ("train", "val_acc", {"epoch": 2}, "fidelity has unknown key 'epoch'; allowed: 'epochs'"),
        ("train", "val_acc", {"epochs": 0}, "fidelity 'epochs'=0; allowed: an integer >= 1"),
        ("train", "val_acc", {"epochs": True}, "fidelity 'epochs'=True; allowed: an integer >= 1"),
        (
            "train",
            "val_acc",
            {"train_fraction": 1.5},
            "fidelity 'train_fraction'=1.5; allowed: a number with 0.0 <",
        ),
        ("train", "val_acc", {"channels": 0}, "fidelity 'channels'=0; allowed: an integer >= 1"),
        (
            "tabular",
            "val_acc",
            {"epochs": 3},
            "tabular evaluator: fidelity 'epochs' must be 12 or 200, got 3",
        ),
        (
            "tabular",
            "val_acc",
            {"train_fraction": 0.5},
            "fidelity has unknown key 'train_fraction'; allowed: 'epochs'",
        ),
        (
            "zero-cost",
            "synflow",
            {"epochs": 1},
            "fidelity has unknown key 'epochs'; allowed: none (zero-cost proxies train nothing)",
        ),
    ],
)
def test_a_bad_fidelity_is_refused_when_the_experiment_is_made(
    store_with_another: Path,
    evaluator: str,
    objectives: str,
    fidelity: dict[str, Any],
    message: str,
) -> None:
    options = {"dataset": "digits", "epochs": 1} if evaluator == "train" else {}
    if evaluator == "zero-cost":
        options = {"dataset": "digits", "proxies": ["synflow"]}
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        experiment(
            store_with_another,
            space=NB201Space(n_cells=1, channels=4),
            evaluator=evaluator,
            evaluator_options=options,
            objectives=[objectives],
            fidelity=fidelity,
        )
    assert names(store_with_another) == ["other"]


def test_a_network_size_the_space_does_not_build_with_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    message = "fidelity 'channels'=4 needs a space that builds with another channels, but space"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        experiment(path, evaluator=TrainEvaluator("digits"), fidelity={"channels": 4})
    with pytest.raises(ConfigError, match=r"^n_cells=2 needs a space that builds"):
        experiment(path, evaluator=TrainEvaluator("digits", n_cells=2))
    assert not path.exists()


def test_a_fidelity_that_is_no_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^fidelity must be a mapping like \{'epochs': 5\}"):
        experiment(tmp_path / "s.db", fidelity=[("epochs", 5)])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"heartbeat_s": 5.0, "stale_after": 2.0}, "stale_after=2.0 must be larger than"),
        ({"heartbeat_s": 0}, "heartbeat_s must be a number of seconds > 0"),
        ({"executor": "threads"}, "executor: unknown executor 'threads'"),
        ({"devices": "gpu0", "executor": "processes"}, "devices: 'gpu0' is not a device"),
        ({"workers": 2}, "workers=2 needs executor 'processes' or 'ray'"),
    ],
)
def test_run_options_are_checked_before_the_store_is_opened(
    store_with_another: Path, options: dict[str, Any], message: str
) -> None:
    exp = experiment(store_with_another)
    with pytest.raises(ConfigError, match=re.escape(message)):
        exp.check_run(max_trials=3, **options)
    with pytest.raises(ConfigError, match=re.escape(message)):
        exp.run(max_trials=3, progress=False, **options)
    assert names(store_with_another) == ["other"]


def test_check_run_opens_nothing_and_returns_the_executor(tmp_path: Path) -> None:
    path = tmp_path / "lazy" / "s.db"
    exp = experiment(path)
    assert type(exp.check_run(max_trials=3)).__name__ == "LocalExecutor"
    assert not path.parent.exists()
