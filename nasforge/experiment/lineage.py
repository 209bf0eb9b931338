"""Lineage and weight inheritance: which trial each child was mutated from, and its weights.

A strategy that mutates says which trial an arch came from
(:meth:`~nasforge.strategies.base.Strategy.parent_of`). The driver, which alone talks to the
store, then

- before a child starts, reads its parent's kept weights (artifact ``weights``) into the job
  when the evaluator inherits (:attr:`~nasforge.estimation.Evaluator.inherits`), so workers
  in other processes or on a Ray cluster need no access to the store;
- when a trial ends, stores the weights its evaluator kept (``weights``) and its lineage
  (``lineage``: ``{"parent": number, "reused": [tensor names], "tensors": count}``; the parent
  alone when nothing was inherited).

A resumed search replays the strategy, which names the same parents, and a retried trial reads
the same stored weights, so inheritance is reproduced.

Example:
    >>> from nasforge.storage import Storage
    >>> store = Storage("sqlite:///:memory:")
    >>> exp = store.create_experiment("demo", 0, {}, {})
    >>> record_end(store, exp.id, 3, parent=1, state=b"w", inherited={"reused": ["head.bias"]})
    >>> lineage(store, exp.id)
    {3: {'parent': 1, 'reused': ['head.bias']}}
    >>> kept_weights(store, exp.id, 3)
    b'w'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasforge.storage import Storage

#: the artifact kind of a trial's trained weights (kept by an inheriting evaluator)
WEIGHTS_KIND = "weights"
#: the artifact kind of a trial's lineage: its parent, and the tensors it reused
LINEAGE_KIND = "lineage"


def kept_weights(storage: Storage, experiment_id: int, number: int) -> bytes | None:
    """The weights trial ``number`` kept (its newest, if a retry stored them twice)."""
    stored = storage.artifacts(experiment_id, trial_number=number, kind=WEIGHTS_KIND)
    return storage.artifact_data(stored[-1].id) if stored else None


def record_end(
    storage: Storage,
    experiment_id: int,
    number: int,
    *,
    parent: int | None,
    state: bytes | None,
    inherited: Mapping[str, Any] | None,
) -> None:
    """Store what trial ``number`` kept and where it came from (before it is told, so a
    child asked next finds its weights)."""
    if state is not None:
        storage.add_artifact(experiment_id, number, WEIGHTS_KIND, data=state)
    if parent is not None:
        info = {"parent": int(parent), **dict(inherited or {})}
        storage.add_artifact(experiment_id, number, LINEAGE_KIND, info=info)


def lineage(storage: Storage, experiment_id: int) -> dict[int, dict[str, Any]]:
    """``{child trial: {"parent": number, "reused": [...], ...}}`` of the experiment."""
    out: dict[int, dict[str, Any]] = {}
    for artifact in storage.artifacts(experiment_id, kind=LINEAGE_KIND):
        if artifact.trial_number is not None:
            out[artifact.trial_number] = dict(artifact.info)
    return out


__all__ = ["LINEAGE_KIND", "WEIGHTS_KIND", "kept_weights", "lineage", "record_end"]
