"""The dashboard's JSON API on a store written by a real search."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from viz_trials import SPACE, MakeExperiment, cell_metrics

import nasforge as nf
from nasforge.errors import StorageError
from nasforge.experiment import pareto_trials
from nasforge.viz.dashboard import create_app, plotly_js_path

with warnings.catch_warnings():  # starlette's TestClient warns about httpx; fine for tests
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(make_experiment: MakeExperiment, tmp_path: Path) -> Iterator[TestClient]:
    make_experiment("demo", trials=12)
    make_experiment("single", trials=4, two_objectives=False, pruning=False, seed=1)
    with local_client(create_app(tmp_path / "store.db")) as client:
        yield client


def local_client(app: object) -> TestClient:
    """A client addressing the app as its browser would on this machine (Host: 127.0.0.1)."""
    return TestClient(app, base_url="http://127.0.0.1")  # type: ignore[arg-type]


def test_experiments_list_names_counts_and_best(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)  # resumes: nothing new to run
    rows = {r["name"]: r for r in client.get("/api/experiments").json()}
    assert list(rows) == ["demo", "single"]
    row = rows["demo"]
    stored = demo.trials()
    assert row["n_trials"] == len(stored) == 12
    assert row["counts"]["complete"] == sum(t.status.value == "complete" for t in stored)
    assert row["counts"]["pruned"] == sum(t.status.value == "pruned" for t in stored) > 0
    assert row["best"]["number"] == demo.best().number
    assert row["best"]["value"] == demo.best().metrics["acc"]
    assert row["objectives"] == {"acc": "max", "params": "min"}
    assert row["created_at"].endswith("Z")


def test_experiment_summary_holds_counts_best_and_cell(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)
    s = client.get("/api/experiments/demo").json()
    assert s["n_trials"] == 12 and s["metric"] == "acc" and s["direction"] == "max"
    stored = demo.trials()
    assert s["counts"]["pruned"] == sum(t.status.value == "pruned" for t in stored)
    assert s["best"]["number"] == demo.best().number
    assert (
        s["best_cell_svg"].startswith("<svg")
        and f"trial {demo.best().number}" in s["best_cell_svg"]
    )
    assert "config" not in s["spec"] and s["spec"]["strategy"] == "random"
    assert "history" not in s and "pareto" not in s  # views of their own, fetched on change


def test_history_holds_each_finished_trial_and_the_best_so_far(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)
    h = client.get("/api/experiments/demo/history").json()
    running_best, expected = None, []
    for t in demo.trials():
        if t.status.value == "complete":
            value = t.metrics["acc"]
            running_best = value if running_best is None else max(running_best, value)
        expected.append(running_best)
    assert h["full"] and h["number"] == list(range(12))
    best, running = [], None
    for status, value in zip(h["status"], h["value"], strict=True):  # as the page does
        if status == "complete" and value is not None:
            running = value if running is None else max(running, value)
        best.append(running)
    assert best == expected
    pruned = [t for t in demo.trials() if t.status.value == "pruned"]
    assert pruned
    for t in pruned:  # where it stopped: its last report
        assert h["value"][t.number] == t.intermediate[max(t.intermediate)]["acc"]
    assert all(e is not None and e >= 0 for e in h["elapsed_s"])


def test_pareto_is_the_front_of_the_first_two_objectives(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)
    p = client.get("/api/experiments/demo/pareto").json()
    front = sorted(pareto_trials(demo.trials()), key=lambda t: (t.metrics["acc"], t.number))
    assert p["front"] == [t.number for t in front]
    assert p["x_metric"] == "acc" and p["y_metric"] == "params"
    complete = [t.number for t in demo.trials() if t.status.value == "complete"]
    assert p["numbers"] == complete
    single = client.get("/api/experiments/single/pareto")
    assert single.status_code == 400 and "needs 2 objectives" in single.json()["detail"]


def test_hypervolume_is_the_experiments_with_its_setting_and_history(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)
    h = client.get("/api/experiments/demo/hypervolume").json()
    summary = demo.pareto_summary()
    assert sorted(h["front"]) == sorted(t.number for t in summary.front)
    assert sorted(h["front"]) == sorted(t.number for t in pareto_trials(demo.trials()))
    assert h["n_complete"] == summary.n_complete == len(demo.trials("complete"))
    assert h["hypervolume"] == pytest.approx(summary.hypervolume) and h["hypervolume"] > 0
    setting = summary.setting
    assert setting is not None and h["setting"] == setting.to_json()
    assert h["setting"]["statement"].endswith(
        f"of this experiment's {summary.n_complete} complete trials; reference point 1.1 "
        f"(acc {setting.reference[0]:.6g}, params {setting.reference[1]:.6g})"
    )
    # the step line: the trials after which the hypervolume changed, and the last
    history, full = h["history"], summary.history
    volumes = dict(zip(full.number, full.hypervolume, strict=True))
    assert history["number"][0] == full.number[0] and history["number"][-1] == full.number[-1]
    assert history["hypervolume"] == pytest.approx([volumes[n] for n in history["number"]])
    steps = zip(full.number[1:], full.hypervolume, full.hypervolume[1:], strict=False)
    changed = [n for n, before, after in steps if after != before]
    assert set(changed) <= set(history["number"]) <= {full.number[0], full.number[-1], *changed}
    at_time = dict(zip(full.number_by_time, full.hypervolume_by_time, strict=True))
    assert history["hypervolume_by_time"] == pytest.approx(
        [at_time[n] for n in history["number_by_time"]]
    )
    # seconds from the first start to each finish, to the millisecond
    elapsed = dict(zip(full.number_by_time, full.elapsed_s, strict=True))
    assert history["elapsed_s"] == pytest.approx(
        [elapsed[n] for n in history["number_by_time"]], abs=1e-3
    )
    assert history["hypervolume_by_time"][-1] == pytest.approx(h["hypervolume"])
    single = client.get("/api/experiments/single/hypervolume")
    assert single.status_code == 400
    assert single.json()["detail"] == (
        "a Pareto front needs 2 objectives; the objectives of experiment 'single': acc"
    )


def test_trials_filter_by_status_and_carry_curves(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)
    pruned = client.get("/api/experiments/demo/trials", params={"status": "pruned"}).json()
    assert [t["number"] for t in pruned["trials"]] == [t.number for t in demo.trials("pruned")]
    assert pruned["total"] == len(demo.trials("pruned"))
    everything = client.get("/api/experiments/demo/trials", params={"curves": True}).json()
    assert everything["total"] == len(everything["trials"]) == 12
    for row, t in zip(everything["trials"], demo.trials(), strict=True):
        assert row["arch"] == t.arch.key and row["status"] == t.status.value
        assert row["intermediate"] == {str(k): dict(v) for k, v in t.intermediate.items()}
    one = client.get("/api/experiments/demo/trials/3").json()
    assert one["number"] == 3 and one["value"] == demo.trials()[3].metrics["acc"]
    bad = client.get("/api/experiments/demo/trials", params={"status": "done"})
    assert bad.status_code == 400 and "allowed: running, complete" in bad.json()["detail"]


def test_trials_come_a_page_at_a_time_sorted_by_the_server(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    demo = make_experiment("demo", trials=12)
    acc = {t.number: t.metrics.get("acc") for t in demo.trials()}
    by_acc = sorted(acc, key=lambda n: (acc[n] is None, -(acc[n] or 0.0), n))
    seen = []
    for offset in (0, 5, 10):
        page = client.get(
            "/api/experiments/demo/trials",
            params={"sort": "metric:acc", "order": "desc", "offset": offset, "limit": 5},
        ).json()
        assert page["total"] == 12 and len(page["trials"]) == min(5, 12 - offset)
        seen += [t["number"] for t in page["trials"]]
    assert seen == by_acc  # largest first, trials without a value last, ties by number
    up = client.get("/api/experiments/demo/trials", params={"sort": "number", "order": "desc"})
    assert [t["number"] for t in up.json()["trials"]] == list(range(11, -1, -1))
    bad = client.get("/api/experiments/demo/trials", params={"sort": "color"})
    assert bad.status_code == 400 and "cannot sort trials by 'color'" in bad.json()["detail"]
    too_many = client.get("/api/experiments/demo/trials", params={"limit": 100_000})
    assert too_many.status_code == 422


def test_curves_ops_and_cell_svg(client: TestClient, make_experiment: MakeExperiment) -> None:
    demo = make_experiment("demo", trials=12)
    curves = client.get("/api/experiments/demo/curves").json()
    assert curves["metric"] == "acc" and curves["best_number"] == demo.best().number
    assert len(curves["curves"]) == 12  # every trial reported at least its first step
    complete = [c for c in curves["curves"] if c["status"] == "complete"]
    assert all(c["steps"] == [1, 2, 3] for c in complete)
    ops = client.get("/api/experiments/demo/ops", params={"top_k": 3}).json()
    assert ops["top_k"] == 3 and ops["labels"][0] == "0→1"
    assert all(sum(c.values()) == 3 for c in ops["counts"].values())
    svg = client.get("/api/experiments/demo/cell.svg", params={"trial": 0})
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "trial 0" in svg.text


def test_unknown_names_and_numbers_are_404s_listing_what_exists(client: TestClient) -> None:
    for url in ("/api/experiments/nope", "/api/experiments/nope/trials"):
        missing = client.get(url)
        assert missing.status_code == 404
        assert missing.json() == {
            "detail": "no experiment 'nope'; experiments: 'demo', 'single'",
            "experiments": ["demo", "single"],
        }
    for url in (
        "/api/experiments/nope/history",
        "/api/experiments/nope/pareto",
        "/api/experiments/nope/hypervolume",
    ):
        assert client.get(url).status_code == 404
    trial = client.get("/api/experiments/demo/trials/40")
    assert trial.status_code == 404
    assert trial.json()["detail"] == "experiment 'demo' has no trial 40; trials: 0..11"
    page = client.get("/experiments/nope")
    assert page.status_code == 404 and "experiments: &#x27;demo&#x27;" in page.text


def test_pages_and_local_plotly_are_served(client: TestClient) -> None:
    assert 'data-page="index"' in client.get("/").text
    page = client.get("/experiments/demo").text
    assert '<script src="/vendor/plotly.min.js">' in page and "cdn" not in page.lower()
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and plotly_js_path() is not None
    assert len(js.content) == plotly_js_path().stat().st_size > 1_000_000
    assert client.get("/static/dashboard.js").status_code == 200


def test_the_api_follows_a_search_that_goes_on(
    client: TestClient, make_experiment: MakeExperiment
) -> None:
    before = client.get("/api/experiments/demo").json()
    history = client.get("/api/experiments/demo/history").json()
    unchanged = client.get("/api/experiments/demo/history", params={"since": history["cursor"]})
    assert not unchanged.json()["full"] and unchanged.json()["number"] == []
    make_experiment("demo", trials=14)  # the same search resumed: two more trials
    after = client.get("/api/experiments/demo").json()
    assert (before["n_trials"], after["n_trials"]) == (12, 14)
    assert before["revision"] != after["revision"]
    changed = client.get("/api/experiments/demo/history", params={"since": history["cursor"]})
    assert not changed.json()["full"] and changed.json()["number"] == [12, 13]
    assert client.get("/api/experiments/demo").json()["revision"] == after["revision"]


def test_a_missing_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        create_app(tmp_path / "none.db")


def test_reading_while_a_search_writes_neither_blocks_nor_breaks_it(
    make_experiment: MakeExperiment, tmp_path: Path
) -> None:
    import threading

    make_experiment("live", trials=2, pruning=False)
    app = create_app(tmp_path / "store.db")
    search = threading.Thread(target=make_experiment, args=("live", 40), kwargs={"pruning": False})
    seen = []
    with local_client(app) as client:
        search.start()
        while search.is_alive():
            summary = client.get("/api/experiments/live")
            assert summary.status_code == 200
            seen.append(summary.json()["n_trials"])
            client.get("/api/experiments/live/trials", params={"curves": True}).raise_for_status()
            client.get("/api/experiments/live/history").raise_for_status()
        search.join()
        final = client.get("/api/experiments/live").json()
    assert seen and seen == sorted(seen)  # each poll saw a consistent, growing store
    assert final["n_trials"] == 40 and final["counts"]["complete"] == 40


def test_an_in_memory_store_is_refused() -> None:
    from nasforge.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot read an in-memory store"):
        create_app("sqlite:///:memory:")


def test_one_trial_carries_the_whole_traceback_of_a_failure(tmp_path: Path) -> None:
    from viz_trials import SPACE

    import nasforge as nf

    def fails_on_pools(arch: nf.Arch) -> dict[str, float]:
        if "pool" in arch["edge_1_0"]:  # some trials fail, not all (that would stop the search)
            raise ValueError("pools are not allowed here")
        return {"acc": 1.0}

    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=fails_on_pools,
        objectives={"acc": "max"},
        storage=tmp_path / "f.db",
    )
    exp.run(max_trials=8, progress=False)
    failed = exp.trials("failed")
    complete = exp.trials("complete")
    assert failed and complete
    with local_client(create_app(tmp_path / "f.db")) as client:
        bad = client.get(f"/api/experiments/nasforge/trials/{failed[0].number}").json()
        good = client.get(f"/api/experiments/nasforge/trials/{complete[0].number}").json()
    assert bad["status"] == "failed" and bad["traceback"] == failed[0].error
    assert "Traceback" in bad["traceback"] and "pools are not allowed here" in bad["traceback"]
    assert bad["error"] == failed[0].error.splitlines()[0]  # the table shows the first line
    assert good["traceback"] is None


def test_a_registered_space_is_rebuilt_to_draw_and_label_its_cells(tmp_path: Path) -> None:
    """The cell of an experiment whose keys are not NAS-Bench-201 strings: it is drawn (and
    its edges labelled) from the stored space; a custom one of that kind has nothing to draw."""
    from nasforge import Experiment
    from nasforge.spaces import SPACES
    from nasforge.testing.spaces import LadderSpace

    class CustomLadder(LadderSpace):
        """Not a registered class: its store cannot rebuild it."""

    store = tmp_path / "ladder.db"
    SPACES.register("ladder-test", LadderSpace, "a test space")
    try:
        for name, space in (("registered", "ladder-test"), ("custom", CustomLadder())):
            Experiment(
                space,
                strategy="random",
                evaluator=lambda arch: {"acc": arch["lr"]},
                objectives={"acc": "max"},
                storage=store,
                name=name,
            ).run(max_trials=4, progress=False)
        with local_client(create_app(store)) as client:
            summary = client.get("/api/experiments/registered").json()
            assert summary["best_cell_svg"].startswith("<svg")
            ops = client.get("/api/experiments/registered/ops").json()
            assert ops["dimensions"] == ["a", "b", "c"] and ops["labels"] == ["0→1", "1→2", "0→2"]
            svg = client.get("/api/experiments/registered/cell.svg")
            assert svg.status_code == 200 and 'data-src="0"' in svg.text
            assert client.get("/api/experiments/custom").json()["best_cell_svg"] is None
            assert client.get("/api/experiments/custom/ops").json()["labels"] == ["a", "b", "c"]
            assert client.get("/api/experiments/custom/cell.svg").status_code == 400
    finally:
        SPACES.unregister("ladder-test")


def test_trials_that_break_a_constraint_are_on_no_front(tmp_path: Path) -> None:
    exp = nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=cell_metrics,
        objectives={"acc": "max", "params": "min"},
        constraints={"params": "<= 4"},  # measured with training: complete but infeasible
        storage=tmp_path / "store.db",
        name="limited",
        fidelity={"epochs": 3},
    )
    exp.run(max_trials=16, progress=False)
    trials = exp.trials()
    infeasible = {t.number for t in trials if t.status.value == "complete" and not t.feasible}
    feasible = {t.number for t in trials if t.status.value == "complete" and t.feasible}
    assert infeasible and feasible
    with local_client(create_app(tmp_path / "store.db")) as client:
        pareto = client.get("/api/experiments/limited/pareto").json()
        volume = client.get("/api/experiments/limited/hypervolume").json()
    assert set(pareto["numbers"]) == feasible
    assert set(volume["front"]) == {t.number for t in exp.pareto_front()}
    assert volume["n_complete"] == len(feasible)
    assert volume["hypervolume"] == pytest.approx(exp.hypervolume())
    summary = exp.pareto_summary()
    assert summary.n_complete == len(feasible) and {t.number for t in summary.front} <= feasible
