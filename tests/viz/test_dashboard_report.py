"""The honesty report on the dashboard: the experiment summary names the newest one, its own
view serves it, and an experiment without one answers 404 there."""

from __future__ import annotations

import warnings
from pathlib import Path

from nasforge.oneshot import REPORT_KIND
from nasforge.viz.dashboard import create_app
from tests.oneshot.report_store import store_with_report

with warnings.catch_warnings():  # starlette's TestClient warns about httpx; fine for tests
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_the_dashboard_serves_the_honesty_report(tmp_path: Path) -> None:
    store, experiment_id, report = store_with_report(tmp_path / "store.db")
    app = create_app(tmp_path / "store.db")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        summary = client.get("/api/experiments/oneshot").json()
        assert summary["report"] == store.artifacts(experiment_id, kind=REPORT_KIND)[-1].id
        shown = client.get("/api/experiments/oneshot/report").json()
        assert shown == {"id": summary["report"], "compared": 3, **report.to_dict()}
        assert shown["rows"][-1]["role"] == "ranked #27 of 27"
        assert shown["rows"][-1]["standalone_val_acc"] is None  # the arch of only 'none' failed
        assert shown["warning"].startswith("2 of 3 operation choices")
        assert shown["kendall_tau"] == report.kendall_tau is not None
        assert shown["kendall_p"] == report.kendall_p is not None  # shown beside tau
        # a newer report replaces it on the page (the page fetches it when the id changes)
        store.add_artifact(experiment_id, None, REPORT_KIND, info=report.to_dict())
        newer = client.get("/api/experiments/oneshot").json()["report"]
        assert newer != summary["report"]
        assert client.get("/api/experiments/oneshot/report").json()["id"] == newer
        # an experiment without a report
        assert client.get("/api/experiments/plain").json()["report"] is None
        missing = client.get("/api/experiments/plain/report")
        assert missing.status_code == 404
        assert missing.json()["detail"] == (
            "experiment 'plain' has no honesty report; only one-shot methods write one"
        )
