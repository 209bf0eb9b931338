"""Weight inheritance: a child trial starts from its parent's trained tensors wherever names
and shapes match, its lineage records which, and a resumed search reproduces it."""

from __future__ import annotations

from pathlib import Path

import nasforge as nf
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.lineage import WEIGHTS_KIND, kept_weights, lineage
from nasforge.spaces import create_space


def experiment(url: str, inherit: bool = True) -> nf.Experiment:
    return nf.Experiment(
        space=create_space("large-scale-evolution", max_layers=4, channels=4, max_channels=8),
        strategy="large-scale-evolution",
        strategy_options={"population_size": 2},
        evaluator=TrainEvaluator(
            "digits", epochs=1, batch_size=64, train_fraction=0.3, inherit=inherit, threads=1
        ),
        objectives={"val_acc": "max"},
        storage=url,
        name="inherit",
        seed=0,
    )


def test_a_child_reuses_its_parents_tensors(tmp_path: Path) -> None:
    exp = experiment(f"sqlite:///{tmp_path / 'a.db'}")
    exp.run(max_trials=6)
    store, eid = exp.storage, exp.record.id
    trials = {t.number: t for t in exp.trials()}
    assert all(kept_weights(store, eid, n) for n in trials)  # every trial kept its weights
    found = lineage(store, eid)
    assert found and set(found) <= set(trials) - {0, 1}  # the random first two have no parent
    import io

    import torch

    for child, info in found.items():
        assert info["parent"] < child and trials[info["parent"]].score is not None
        assert info["reused"] and info["tensors"] >= len(info["reused"])
        parent_state = torch.load(io.BytesIO(kept_weights(store, eid, info["parent"]) or b""))
        child_state = torch.load(io.BytesIO(kept_weights(store, eid, child) or b""))
        for name in info["reused"]:
            assert parent_state[name].shape == child_state[name].shape


def test_without_inherit_nothing_is_kept_but_the_lineage(tmp_path: Path) -> None:
    exp = experiment(f"sqlite:///{tmp_path / 'b.db'}", inherit=False)
    exp.run(max_trials=4)
    assert not exp.storage.artifacts(exp.record.id, kind=WEIGHTS_KIND)
    found = lineage(exp.storage, exp.record.id)
    assert found and all(set(info) == {"parent"} for info in found.values())


def test_a_resumed_search_reproduces_the_inheritance(tmp_path: Path) -> None:
    whole = experiment(f"sqlite:///{tmp_path / 'whole.db'}")
    whole.run(max_trials=6)
    split_url = f"sqlite:///{tmp_path / 'split.db'}"
    experiment(split_url).run(max_trials=3)
    resumed = experiment(split_url)
    resumed.run(max_trials=6)

    def summary(exp: nf.Experiment) -> list[tuple[str, float]]:
        return [(t.arch.key, t.metrics["val_acc"]) for t in exp.trials()]

    assert summary(resumed) == summary(whole)
    assert lineage(resumed.storage, resumed.record.id) == lineage(whole.storage, whole.record.id)


def test_worker_processes_inherit_through_the_job(tmp_path: Path) -> None:
    """Workers never open the store: the driver puts the parent's weights into the job and
    stores what the worker hands back."""
    exp = experiment(f"sqlite:///{tmp_path / 'p.db'}")
    exp.run(max_trials=5, executor="processes", workers=2, progress=False)
    found = lineage(exp.storage, exp.record.id)
    assert found and all(info["reused"] for info in found.values())
