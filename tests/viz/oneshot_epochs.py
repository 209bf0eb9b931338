"""A store holding the epoch records a one-shot search leaves, written directly (no training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasforge.oneshot.methods import EPOCH_KIND
from nasforge.storage import ExperimentRecord, Storage

EDGES = ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"]
CANDIDATES = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
#: a NAS-Bench-201 cell, so the plots name the edges 0→1, 0→2, ...
DERIVED = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"


def probabilities(epoch: int, labels: list[str], candidates: list[str]) -> dict[str, Any]:
    """Each label's distribution: candidate ``j`` of label ``i`` gains ``j + i % 3`` per epoch."""
    out = {}
    for i, label in enumerate(labels):
        raw = [1.0 + epoch * (j + i % 3) for j in range(len(candidates))]
        out[label] = {c: r / sum(raw) for c, r in zip(candidates, raw, strict=True)}
    return out


def epoch_record(
    epoch: int, labels: list[str] = EDGES, candidates: list[str] = CANDIDATES
) -> dict[str, Any]:
    """What a one-shot method stores after ``epoch`` (recorded as trial ``epoch - 1``)."""
    return {
        "epoch": epoch,
        "derived": DERIVED,
        "weights": probabilities(epoch, labels, candidates),
        "train_loss": 2.0 / epoch,
        "val_loss": 2.5 / epoch,
        "supernet_val_acc": 10.0 * epoch,
        "search_s": 30.0 * epoch,
        "trial": epoch - 1,
    }


def store_with_epochs(db: Path, epochs: int = 3) -> tuple[Storage, ExperimentRecord]:
    """Experiments 'plain' (a random search: no epochs) and 'oneshot' (darts, ``epochs``
    epoch records) in ``db``."""
    store = Storage(f"sqlite:///{db}")
    store.create_experiment("plain", 0, {"val_acc": "max"}, {"strategy": "random"})
    record = store.create_experiment("oneshot", 0, {"val_acc": "max"}, {"strategy": "darts"})
    for epoch in range(1, epochs + 1):
        store.add_artifact(record.id, epoch - 1, EPOCH_KIND, info=epoch_record(epoch))
    return store, record
