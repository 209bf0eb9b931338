"""Screenshots of the web dashboard's main pages, and the matplotlib plots, for a person to look at.

Without ``--storage`` it first runs two small searches into a fresh, temporary SQLite store,
so that every panel has something to show:

- ``digits-nb201``: NAS-Bench-201 cells (N=1, C=8) trained for real on scikit-learn's digits
  (24 trials of 6 epochs; ``--quick``: 3 trials of 2 epochs), regularized evolution,
  objectives ``val_acc`` (max) and ``params`` (min), ASHA stopping the weak trials early;
- ``nb201-cifar10-table``: 100 lookups in the shipped NAS-Bench-201 CIFAR-10 table.

Then it serves the dashboard on a free local port, opens it in headless Chromium
(``/usr/bin/chromium`` with ``/usr/bin/chromedriver``) and writes ``index.png`` (the experiment
list), ``experiment-<name>.png`` (each experiment's page, full height) and
``trial-<name>.png`` (the window after clicking the best trial: its panel in view), plus
``plots/<name>-<kind>.png`` made by :mod:`nasforge.viz.plots`. The last line printed is one JSON
object naming the files.

Usage:
    python benchmarks/dashboard_screenshots.py                   # into docs/screenshots/ (~1 min)
    python benchmarks/dashboard_screenshots.py --quick --out /tmp/shots     # smoke run
    python benchmarks/dashboard_screenshots.py --storage sqlite:///nasforge.db --out shots/
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "screenshots"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs")
    parser.add_argument("--storage", default=None, help="an existing store (default: run demos)")
    parser.add_argument("--quick", action="store_true", help="tiny demo searches (smoke run)")
    parser.add_argument("--width", type=int, default=1400, help="browser width in pixels")
    return parser.parse_args(argv)


def run_demos(store: str, quick: bool) -> None:
    """Fill ``store`` with the two demo experiments (resumed if they are there already)."""
    import torch

    import nasforge as nf

    torch.set_num_threads(1)  # tiny models on a shared machine: one thread is fastest
    epochs = 2 if quick else 6
    trained = nf.Experiment(
        "nb201",
        strategy="mo-regularized-evolution",
        evaluator="train",
        objectives={"val_acc": "max", "params": "min"},
        storage=store,
        name="digits-nb201",
        space_options={"n_cells": 1, "channels": 8},
        strategy_options={"population_size": 6, "sample_size": 3},
        evaluator_options={"dataset": "digits", "epochs": epochs, "batch_size": 64, "threads": 1},
        device="cpu",
        scheduler="asha",
        scheduler_options={"min_step": 1, "reduction_factor": 2},
    )
    trained.run(max_trials=3 if quick else 24, progress=not quick)
    table = nf.Experiment(
        "nb201",
        strategy="regularized-evolution",
        evaluator="tabular",
        objectives={"val_acc": "max"},
        storage=store,
        name="nb201-cifar10-table",
        strategy_options={"population_size": 20, "sample_size": 5},
    )
    table.run(max_trials=20 if quick else 100, progress=False)


def write_plots(store: str, out: Path) -> list[str]:
    from nasforge.errors import NasforgeError
    from nasforge.experiment import load_experiment
    from nasforge.storage import Storage
    from nasforge.viz import PLOT_KINDS, plot

    written = []
    storage = Storage(store, create=False)
    out.mkdir(parents=True, exist_ok=True)
    for record in storage.list_experiments():
        exp = load_experiment(record.name, storage)
        for kind in PLOT_KINDS:
            path = out / f"{record.name}-{kind}.png"
            try:
                plot(exp, kind, out=path)
            except NasforgeError as exc:  # e.g. a Pareto plot of one objective
                print(f"skipped {path.name}: {exc}", file=sys.stderr)
                continue
            written.append(str(path))
    return written


def screenshots(store: str, out: Path, width: int, quick: bool = False) -> list[str]:
    from selenium.webdriver.common.by import By

    from nasforge.storage import Storage
    from nasforge.viz.dashboard import create_app
    from nasforge.viz.dashboard.browser import headless_chromium, serve_in_thread, wait_for

    names = [r.name for r in Storage(store, create=False).list_experiments()]
    written = []
    out.mkdir(parents=True, exist_ok=True)
    with serve_in_thread(create_app(store)) as url, headless_chromium(width, 900) as page:

        def shoot(path: Path) -> None:
            time.sleep(0.1 if quick else 0.5)  # Plotly finishes its transitions
            height = page.execute_script("return document.documentElement.scrollHeight")
            page.set_window_size(width, int(height) + 20)
            time.sleep(0.1 if quick else 0.3)
            page.save_screenshot(str(path))
            written.append(str(path))

        page.get(f"{url}/")
        wait_for(lambda: len(page.find_elements(By.CSS_SELECTOR, ".experiment-row")) == len(names))
        shoot(out / "index.png")
        for name in names[:1] if quick else names:  # --quick: one experiment page
            page.set_window_size(width, 900)
            page.get(f"{url}/experiments/{name}")
            wait_for(lambda: page.find_element(By.ID, "trial-count").text not in ("", "–"))
            wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-history .main-svg"))
            shoot(out / f"experiment-{name}.png")
            page.set_window_size(width, 900)
            opened = open_best_trial(page, wait_for)
            time.sleep(0.1 if quick else 0.5)
            page.save_screenshot(str(out / f"trial-{name}.png"))  # the window the user sees
            written.append(str(out / f"trial-{name}.png"))
            assert opened, name
    return written


def open_best_trial(page: Any, wait_for: Any) -> bool:
    """Click the best trial's row, from the top of the page as a user would, and wait until
    its panel (below the table) has been scrolled into view with its reports drawn."""
    from selenium.webdriver.common.by import By

    best = page.find_element(By.ID, "best-trial").text
    page.execute_script(
        "window.scrollTo(0, 0);"
        "const rows = [...document.querySelectorAll('#trials tbody tr')];"
        "(rows.find((r) => r.firstChild.textContent === arguments[0]) || rows[0]).click();",
        best,
    )
    wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-trial .main-svg"))
    return bool(
        wait_for(
            lambda: page.execute_script(
                "const r = document.getElementById('trial-panel').getBoundingClientRect();"
                "return r.height > 0 && r.top > -2 && r.top < window.innerHeight;"
            )
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from nasforge.errors import NasforgeError
    from nasforge.storage import Storage
    from nasforge.viz.dashboard.browser import chromium_missing

    started = time.perf_counter()
    try:
        if args.storage is not None:  # a wrong path is named first, browser or not
            Storage(args.storage, create=False)
        missing = chromium_missing()
        if missing is not None:
            raise NasforgeError(f"no headless browser: {missing}")
        out: Path = args.out
        with tempfile.TemporaryDirectory(prefix="nasforge-demo-") as scratch:
            store = args.storage
            if store is None:  # a fresh store each time: same seed, same pictures
                store = f"sqlite:///{Path(scratch) / 'demo.db'}"
                run_demos(store, args.quick)
            shots = screenshots(store, out, args.width, args.quick)
            plots = write_plots(store, out / "plots")
    except NasforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {
        "storage": args.storage or "a temporary demo store",
        "screenshots": shots,
        "plots": plots,
        "seconds": round(time.perf_counter() - started, 1),
    }
    for path in shots:
        print(f"wrote {path}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
