"""Server time of each dashboard view on a store of 20,000 trials.

Builds a SQLite store with direct inserts (seconds, not a search): one NAS-Bench-201
experiment ``scale`` of ``--trials`` trials (objectives val_acc max, params_m min; 76% complete
with a 4-step curve, 16% pruned after 1-2 steps, 4% failed with a traceback, 8 running) and
three small experiments beside it. Then it asks each view of the dashboard's API (and the page
itself) through an in-process client: the first request to a freshly started dashboard (which
reads every trial's columns once, then keeps them up to date from what changed), then
``--repeats`` more, reporting the median and the slowest. Server time: from the request reaching
the app to the last byte of the answer.

Usage:
    python benchmarks/dashboard_scale.py                  # 20,000 trials (~1 min)
    python benchmarks/dashboard_scale.py --quick          # 500 trials (smoke run)
    python benchmarks/dashboard_scale.py --trials 50000 --repeats 9

The last line printed is one JSON object: ``{"trials", "intermediate_rows", "build_s",
"repeats", "views": {view: {"first_ms", "median_ms", "max_ms", "kib", "status"}},
"slowest_median_ms", "slowest_first_ms", "quiet_poll_ms", "live_poll_ms", "live_poll_max_ms",
"goal_ms"}``: ``quiet_poll_ms`` is one poll of the page (summary, history since) while
nothing changes, ``live_poll_ms`` one poll of every view while another process adds trials.
A view the code under test lacks is reported with its status code and no times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

GOAL_MS = 100.0
NAME = "scale"
SPEC: dict[str, Any] = {
    "space": "nb201",
    "space_size": 15625,
    "strategy": "regularized-evolution",
    "strategy_options": {"population_size": 20, "sample_size": 5},
    "objectives": {"val_acc": "max", "params_m": "min"},
    "seed": 0,
    "rebuild": {
        "device": "auto",
        "space": {"name": "nb201", "options": {"n_cells": 5, "channels": 16}},
        "evaluator": {"name": "tabular", "options": {"table": None, "epochs": 12}},
    },
}
TRACEBACK = (
    "Traceback (most recent call last):\n"
    + '  File "train.py", line 1\n' * 30
    + ("RuntimeError: CUDA out of memory")
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000, help="trials of the big one")
    parser.add_argument("--repeats", type=int, default=7, help="requests per view")
    parser.add_argument("--quick", action="store_true", help="500 trials, 3 requests a view")
    parser.add_argument("--storage", type=Path, default=None, help="SQLite file to (re)build")
    return parser.parse_args(argv)


def build_store(path: Path, trials: int, seed: int = 0) -> tuple[int, float]:
    """Write the experiments into a new SQLite file; returns (intermediate rows, seconds)."""
    import numpy as np
    from sqlalchemy import insert

    from nasforge.spaces import create_space
    from nasforge.storage import Storage
    from nasforge.storage.models import IntermediateRow, TrialRow

    started = time.perf_counter()
    store = Storage(path)
    space = create_space("nb201")
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(min(trials, 4000))]  # archs repeat: realistic
    sizes = [(NAME, trials), ("small-a", 100), ("small-b", 200), ("small-c", 50)]
    trial_id, report_id, reports = 1, 1, 0
    for name, count in sizes:
        record = store.create_experiment(name, seed, SPEC["objectives"], SPEC)
        origin = datetime(2026, 1, 1)
        trial_rows: list[dict[str, Any]] = []
        report_rows: list[dict[str, Any]] = []
        for number in range(count):
            arch = archs[int(rng.integers(len(archs)))]
            started_at = origin + timedelta(seconds=2.0 * number)
            row: dict[str, Any] = {
                "id": trial_id,
                "experiment_id": record.id,
                "number": number,
                "arch_key": arch.key,
                "arch": arch.to_dict(),
                "seed": number,
                "metrics": {},
                "scores": None,
                "started_at": started_at,
                "worker": f"host:{number % 8}",
                "ask_seq": 2 * number,
            }
            draw = rng.random()
            running = number >= count - 8
            steps = 0
            if running:
                row["status"], steps = "running", int(rng.integers(0, 4))
            elif draw < 0.04:
                row["status"], row["error"] = "failed", TRACEBACK
            elif draw < 0.20:
                row["status"], steps = "pruned", int(rng.integers(1, 3))
            else:
                acc, params = float(rng.normal(85, 4)), float(rng.uniform(0.1, 1.5))
                row["status"], steps = "complete", 4
                row["metrics"] = {"val_acc": acc, "params_m": params, "test_acc": acc - 1}
                row["scores"] = [acc, -params]
            if not running:
                duration = float(rng.uniform(10, 20))
                row["finished_at"] = started_at + timedelta(seconds=duration)
                row["duration_s"] = duration
                row["tell_seq"] = 2 * number + 1
            final = row["metrics"].get("val_acc", float(rng.normal(70, 8)))
            for step in range(1, steps + 1):
                value = final * (0.7 + 0.3 * step / 4)
                metrics = {"val_acc": value, "train_loss": 1.0 / step}
                report_rows.append(
                    {"id": report_id, "trial_id": trial_id, "step": step, "metrics": metrics}
                )
                report_id += 1
            trial_rows.append(row)
            trial_id += 1
        with store.engine.begin() as conn:
            conn.execute(insert(TrialRow), _uniform(trial_rows))
            if report_rows:
                conn.execute(insert(IntermediateRow), report_rows)
        reports += len(report_rows)
    store.engine.dispose()
    return reports, time.perf_counter() - started


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every key (an executemany needs the same columns in each)."""
    keys = ("status", "error", "finished_at", "duration_s", "tell_seq")
    return [{**dict.fromkeys(keys), **r} for r in rows]


class Timed:
    """An ASGI wrapper that keeps the server time of each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.seconds.append(time.perf_counter() - started)


def timed_client(path: Path) -> tuple[Timed, Any]:
    """A freshly started dashboard on ``path`` that records each request's server time, and an
    in-process client of it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from nasforge.viz.dashboard import create_app

    timed = Timed(create_app(path))
    return timed, TestClient(timed, base_url="http://127.0.0.1")


def measure(path: Path, repeats: int, trials: int) -> dict[str, dict[str, Any]]:
    """For each view: the server time of the first request to a freshly started dashboard
    (it reads every trial's columns once), then the median and slowest of ``repeats`` more."""
    timed, warm = timed_client(path)
    base = f"/api/experiments/{NAME}"
    history = warm.get(f"{base}/history")
    cursor = history.json().get("cursor", "") if history.status_code == 200 else ""
    views = {
        "index": "/api/experiments",
        "page": f"/experiments/{NAME}",
        "summary": base,
        "history": f"{base}/history",
        "history_since": f"{base}/history?since={cursor}",
        "pareto": f"{base}/pareto",
        "hypervolume": f"{base}/hypervolume",
        "trials_page": f"{base}/trials",
        "trials_by_metric": f"{base}/trials?sort=metric:val_acc&order=desc",
        "trials_pruned_later_page": f"{base}/trials?status=pruned&offset=1000&limit=50",
        "trial": f"{base}/trials/{trials // 2}",
        "curves": f"{base}/curves",
        "ops": f"{base}/ops?top_k=10",
        "cell_svg": f"{base}/cell.svg",
    }
    out: dict[str, dict[str, Any]] = {}
    for view, url in views.items():
        fresh, cold = timed_client(path)
        first = cold.get(url)
        first_ms = round(1000 * fresh.seconds[-1], 1)
        warm.get(url)
        seconds = []
        for _ in range(repeats if first.status_code == 200 else 0):
            timed.seconds.clear()
            warm.get(url).raise_for_status()
            seconds.append(timed.seconds[-1])
        out[view] = {
            "first_ms": first_ms,
            "median_ms": round(1000 * statistics.median(seconds), 1) if seconds else None,
            "max_ms": round(1000 * max(seconds), 1) if seconds else None,
            "kib": round(len(first.content) / 1024, 1),
            "status": first.status_code,
        }
        print(f"{view:26s} {out[view]}", flush=True)
    return out


def poll_cycle(path: Path, repeats: int) -> dict[str, Any]:
    """Server time of one poll of the experiment page while nothing changed: the summary and,
    had it changed, the history since the last poll (median of ``repeats``)."""
    timed, client = timed_client(path)
    base = f"/api/experiments/{NAME}"
    history = client.get(f"{base}/history")
    if history.status_code != 200:  # code without the view: nothing to poll
        return {"median_ms": None}
    cursor = history.json()["cursor"]
    totals = []
    for _ in range(repeats):
        timed.seconds.clear()
        client.get(base).raise_for_status()
        client.get(f"{base}/history?since={cursor}").raise_for_status()
        totals.append(sum(timed.seconds))
    return {"median_ms": round(1000 * statistics.median(totals), 1)}


def _search(path: str, stop: Any, written: Any) -> None:
    """A stand-in for a running search, in its own process: a trial every 50 ms (start, two
    reports, finish) until ``stop`` is set."""
    import numpy as np

    from nasforge.spaces import create_space
    from nasforge.storage import Storage
    from nasforge.trial import TrialStatus

    store = Storage(path)
    eid = store.get_experiment(NAME).id
    span = store.trial_number_range(eid)
    number = (span[1] if span else -1) + 1
    arch = create_space("nb201").sample(np.random.default_rng(1))
    while not stop.is_set():
        store.start_trial(eid, number, arch, seed=number)
        store.report(eid, number, 1, {"val_acc": 50.0})
        store.report(eid, number, 2, {"val_acc": 60.0})
        acc = 70.0 + number % 20
        metrics = {"val_acc": acc, "params_m": 1.0}
        store.finish_trial(eid, number, TrialStatus.COMPLETE, metrics, [acc, -1.0])
        number += 1
        written.value += 1
        time.sleep(0.05)


def live_polls(path: Path, polls: int) -> dict[str, Any]:
    """Server time of the experiment page's polls while a search goes on: another process
    adds a trial every 50 ms, and each poll asks for the summary, then (its revision changed)
    the history since the last poll, the table's first page, the curves, the top-10 operations,
    the Pareto front and its hypervolume. Median and slowest of ``polls``, one every half second."""
    import multiprocessing

    timed, client = timed_client(path)
    base = f"/api/experiments/{NAME}"
    history = client.get(f"{base}/history")
    if history.status_code != 200:  # code without the view: nothing to poll
        return {"median_ms": None, "max_ms": None, "trials_written": 0}
    cursor = history.json()["cursor"]
    client.get(base)
    context = multiprocessing.get_context("spawn")
    stop, written = context.Event(), context.Value("i", 0)
    search = context.Process(target=_search, args=(str(path), stop, written), daemon=True)
    search.start()
    totals = []
    try:
        while written.value == 0 and search.is_alive():  # the search has started
            time.sleep(0.05)
        for _ in range(polls):
            time.sleep(0.5)
            timed.seconds.clear()
            client.get(base).raise_for_status()
            history = client.get(f"{base}/history?since={cursor}")
            cursor = history.json()["cursor"]
            for view in ("/trials", "/curves", "/ops?top_k=10", "/pareto", "/hypervolume"):
                client.get(base + view).raise_for_status()
            totals.append(sum(timed.seconds))
    finally:
        stop.set()
        search.join(timeout=30)
    return {
        "median_ms": round(1000 * statistics.median(totals), 1),
        "max_ms": round(1000 * max(totals), 1),
        "trials_written": int(written.value),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    trials, repeats = (500, 3) if args.quick else (args.trials, args.repeats)
    with tempfile.TemporaryDirectory(prefix="nasforge-scale-") as scratch:
        path = args.storage or Path(scratch) / "scale.db"
        if path.exists():
            path.unlink()
        reports, build_s = build_store(path, trials)
        print(f"built {path}: {trials} trials, {reports} reports in {build_s:.1f} s", flush=True)
        views = measure(path, repeats, trials)
        poll = poll_cycle(path, repeats)
        print(f"poll (summary + history since) {poll}", flush=True)
        live = live_polls(path, 3 if args.quick else 10)
        print(f"polls during a search (every view) {live}", flush=True)
    medians = [v["median_ms"] for v in views.values() if v["median_ms"] is not None]
    result = {
        "trials": trials,
        "intermediate_rows": reports,
        "build_s": round(build_s, 1),
        "repeats": repeats,
        "views": views,
        "slowest_median_ms": max(medians) if medians else None,
        "slowest_first_ms": max(v["first_ms"] for v in views.values()),
        "quiet_poll_ms": poll["median_ms"],
        "live_poll_ms": live["median_ms"],
        "live_poll_max_ms": live["max_ms"],
        "goal_ms": GOAL_MS,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
