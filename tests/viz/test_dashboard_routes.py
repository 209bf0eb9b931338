"""The dashboard's routes around the views: OpenAPI docs, names holding ``/``, the Host check."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
from viz_trials import MakeExperiment

from nasforge.viz.dashboard import create_app
from nasforge.viz.dashboard._middleware import host_name
from nasforge.viz.dashboard.app import hosts_to_allow

with warnings.catch_warnings():  # starlette's TestClient warns about httpx; fine for tests
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

#: names a user may give an experiment, each addressed with every character percent-encoded
ODD_NAMES = ["team/run 1", "a/b/c", "../up", "50%2Fdone", "ünï/cödé"]


def test_the_openapi_schema_and_its_docs_page_are_served(tmp_path: Path) -> None:
    from nasforge.storage import Storage

    Storage(tmp_path / "empty.db")
    client = TestClient(create_app(tmp_path / "empty.db"), base_url="http://127.0.0.1")
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200  # was a 500: a response type it could not resolve
    paths = schema.json()["paths"]
    for path in (
        "/api/experiments",
        "/api/experiments/{name}",
        "/api/experiments/{name}/history",
        "/api/experiments/{name}/pareto",
        "/api/experiments/{name}/hypervolume",
        "/api/experiments/{name}/trials",
        "/api/experiments/{name}/trials/{number}",
        "/api/experiments/{name}/curves",
        "/api/experiments/{name}/ops",
        "/api/experiments/{name}/cell.svg",
    ):
        assert path in paths
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


@pytest.mark.parametrize("name", ODD_NAMES)
def test_an_experiment_whose_name_holds_a_slash_opens(
    make_experiment: MakeExperiment, tmp_path: Path, name: str
) -> None:
    exp = make_experiment(name, trials=3, two_objectives=False, pruning=False)
    client = TestClient(create_app(tmp_path / "store.db"), base_url="http://127.0.0.1")
    assert [r["name"] for r in client.get("/api/experiments").json()] == [name]
    encoded = quote(name, safe="")  # what the page's links hold (encodeURIComponent)
    page = client.get(f"/experiments/{encoded}")
    assert page.status_code == 200 and 'data-page="experiment"' in page.text
    summary = client.get(f"/api/experiments/{encoded}")
    assert summary.status_code == 200 and summary.json()["name"] == name
    trials = client.get(f"/api/experiments/{encoded}/trials").json()
    assert trials["total"] == 3
    assert client.get(f"/api/experiments/{encoded}/trials/1").json()["number"] == 1
    for view in ("history", "curves", "ops", "cell.svg"):
        assert client.get(f"/api/experiments/{encoded}/{view}").status_code == 200, view
    assert client.get(f"/api/experiments/{encoded}").json()["best"]["number"] == exp.best().number


def test_a_name_with_a_slash_typed_unencoded_still_opens_its_page(
    make_experiment: MakeExperiment, tmp_path: Path
) -> None:
    make_experiment("team/run", trials=2, two_objectives=False, pruning=False)
    client = TestClient(create_app(tmp_path / "store.db"), base_url="http://127.0.0.1")
    assert client.get("/experiments/team/run").status_code == 200
    missing = client.get(f"/api/experiments/{quote('team/other', safe='')}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no experiment 'team/other'; experiments: 'team/run'"
    page = client.get(f"/experiments/{quote('team/other', safe='')}")
    assert page.status_code == 404 and 'href="/experiments/team%2Frun"' in page.text


@pytest.fixture
def store(make_experiment: MakeExperiment, tmp_path: Path) -> Path:
    make_experiment("demo", trials=2, two_objectives=False, pruning=False)
    return tmp_path / "store.db"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000"]
)
def test_the_local_names_are_answered_by_default(store: Path, host: str) -> None:
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    assert client.get("/api/experiments", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/experiments", "/api/experiments/demo", "/api/docs"])
def test_a_foreign_host_is_refused_against_dns_rebinding(store: Path, path: str) -> None:
    client = TestClient(create_app(store), base_url="http://127.0.0.1")
    refused = client.get(path, headers={"host": "evil.example:8000"})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("host 'evil.example:8000' is not served here")
    assert "demo" not in refused.text


def test_allowed_hosts_name_the_hosts_to_answer(store: Path) -> None:
    client = TestClient(
        create_app(store, allowed_hosts=["nas.lab.example"]), base_url="http://127.0.0.1"
    )
    assert client.get("/api/experiments", headers={"host": "nas.lab.example"}).status_code == 200
    assert client.get("/api/experiments").status_code == 400  # only the names given
    anyone = TestClient(create_app(store, allowed_hosts=["*"]), base_url="http://127.0.0.1")
    assert anyone.get("/api/experiments", headers={"host": "x.example"}).status_code == 200


def test_the_hosts_a_server_answers_to() -> None:
    assert hosts_to_allow("127.0.0.1") == ["127.0.0.1", "localhost", "::1"]
    assert hosts_to_allow("10.0.0.5", ["nas.lab"]) == [
        "127.0.0.1",
        "localhost",
        "::1",
        "10.0.0.5",
        "nas.lab",
    ]
    assert hosts_to_allow("0.0.0.0") == ["127.0.0.1", "localhost", "::1"]
    assert [host_name(h) for h in ("A.example.:80", "[fe80::1]", "::1", "")] == [
        "a.example",
        "fe80::1",
        "::1",
        "",
    ]
