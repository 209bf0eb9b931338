"""A one-shot search's architecture weights on the dashboard: the summary counts the stored
epochs, their own view serves the weights, and an experiment without epochs answers 404."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from oneshot_epochs import (
    CANDIDATES,
    DERIVED,
    EDGES,
    epoch_record,
    probabilities,
    store_with_epochs,
)

from nasforge.oneshot import EPOCH_KIND
from nasforge.strategies import list_strategies
from nasforge.viz.dashboard import create_app

with warnings.catch_warnings():  # starlette's TestClient warns about httpx; fine for tests
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_the_dashboard_serves_the_architecture_weights(tmp_path: Path) -> None:
    store, record = store_with_epochs(tmp_path / "store.db", epochs=2)
    with TestClient(create_app(tmp_path / "store.db"), base_url="http://127.0.0.1") as client:
        assert client.get("/api/experiments/oneshot").json()["epochs"] == 2
        shown = client.get("/api/experiments/oneshot/arch-weights").json()
        assert shown["method"] == "darts" and shown["layout"] == "panels"
        assert shown["caption"] == (
            "architecture weights of darts, epochs 1–2; derived arch from epoch 2, trial 1"
        )
        assert shown["epochs"] == [1, 2] and shown["trials"] == [0, 1]
        assert shown["derived"] == [DERIVED, DERIVED]
        assert shown["labels"] == EDGES and shown["candidates"] == CANDIDATES
        assert shown["names"] == ["0→1", "0→2", "1→2", "0→3", "1→3", "2→3"]
        series = [probabilities(e, EDGES, CANDIDATES)["edge_3_1"]["none"] for e in (1, 2)]
        assert shown["weights"]["edge_3_1"]["none"] == pytest.approx(series)
        assert shown["final"]["edge_3_1"]["none"] == pytest.approx(series[-1])
        last = probabilities(2, EDGES, CANDIDATES)["edge_1_0"]
        assert shown["strongest"]["edge_1_0"][-1] == pytest.approx(max(last.values()))
        # an epoch more: the summary's count changes, so the page fetches the weights again
        store.add_artifact(record.id, 2, EPOCH_KIND, info=epoch_record(3))
        assert client.get("/api/experiments/oneshot").json()["epochs"] == 3
        assert client.get("/api/experiments/oneshot/arch-weights").json()["epochs"] == [1, 2, 3]
        # an experiment without epochs
        assert client.get("/api/experiments/plain").json()["epochs"] == 0
        missing = client.get("/api/experiments/plain/arch-weights")
        assert missing.status_code == 404
        methods = ", ".join(list_strategies("one-shot"))
        assert missing.json()["detail"] == (
            f"experiment 'plain' has no supernet epochs; only one-shot methods ({methods}) "
            "store architecture weights"
        )
