"""The dashboard end to end in headless Chromium: list, open, follow a running search."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from viz_trials import MakeExperiment

from nasforge.viz.dashboard import create_app
from nasforge.viz.dashboard.browser import headless_chromium, serve_in_thread, wait_for

#: how long to wait for the page to catch up; generous, since CI machines may be busy
WAIT = 30.0
pytestmark = pytest.mark.usefixtures("chromium")  # skips, saying why, without a browser


#: the one timestamp format of the dashboard: local time, ISO-like, to the second
STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"


def in_view(page: Any, element_id: str) -> bool:
    """Whether the element's top is inside the browser's viewport (scrolled into view)."""
    return bool(
        page.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
            "return r.height > 0 && r.top > -2 && r.top < window.innerHeight;",
            element_id,
        )
    )


def shown(value: float) -> str:
    """The page's number format: integers as such, others to 5 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{float(f'{value:.5g}')}"


def test_the_dashboard_lists_opens_and_follows_an_experiment(
    make_experiment: MakeExperiment, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    exp = make_experiment("demo", trials=6)
    with serve_in_thread(create_app(tmp_path / "store.db")) as url, headless_chromium() as page:

        def text(element_id: str) -> str:
            return str(page.find_element(By.ID, element_id).text)

        page.get(f"{url}/?poll=300")
        rows = wait_for(lambda: page.find_elements(By.CSS_SELECTOR, ".experiment-row"), WAIT)
        assert len(rows) == 1
        assert rows[0].find_element(By.CSS_SELECTOR, ".trials").text == "6"
        assert rows[0].find_element(By.CSS_SELECTOR, ".best").text == shown(
            exp.best().metrics["acc"]
        )
        assert re.fullmatch(STAMP, rows[0].find_element(By.CSS_SELECTOR, ".created").text)

        def open_demo() -> bool:  # retried if a poll redrew the row under the click
            page.find_element(By.LINK_TEXT, "demo").click()
            return True

        wait_for(open_demo, timeout=WAIT)
        wait_for(lambda: text("trial-count") == "6", timeout=WAIT)
        assert re.search(f"created {STAMP}$", text("exp-info"))
        wait_for(lambda: re.fullmatch(STAMP, text("updated")), WAIT)
        best = exp.best()
        assert text("best-value") == shown(best.metrics["acc"])
        assert text("best-trial") == str(best.number)
        wait_for(lambda: len(page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == 6, WAIT)
        keys = [
            h.get_attribute("data-key") for h in page.find_elements(By.CSS_SELECTOR, "#trials th")
        ]
        assert keys[2:4] == ["m:acc", "m:params"]  # a column per objective, in order
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#best-cell svg path.edge"), WAIT)
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-history .main-svg"), WAIT)
        assert not page.find_element(By.ID, "pareto-panel").get_attribute("hidden")
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-hypervolume .main-svg"), WAIT)
        summary = exp.pareto_summary()
        assert text("hypervolume-value") == f"· hypervolume {shown(summary.hypervolume)}"
        assert text("hypervolume-setting") == summary.setting.statement()  # type: ignore[union-attr]
        assert page.find_element(By.ID, "weights-panel").get_attribute("hidden")  # not one-shot

        # the status filter hides the other rows, without a reload (the server filters)
        Select(page.find_element(By.ID, "status-filter")).select_by_value("complete")
        complete = len(exp.trials("complete"))
        wait_for(lambda: text("shown-count") == str(complete), WAIT)
        rows = page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")
        assert len(rows) == complete
        Select(page.find_element(By.ID, "status-filter")).select_by_value("all")
        wait_for(lambda: text("shown-count") == "6", WAIT)

        # clicking a metric's column sorts it largest first (the server sorts)
        acc = {t.number: t.metrics.get("acc", float("-inf")) for t in exp.trials()}
        top = max(acc, key=lambda n: (acc[n], -n))
        header = page.find_element(By.CSS_SELECTOR, "#trials th[data-key='m:acc']")
        header.click()
        first_cell = "#trials tbody tr td"
        wait_for(lambda: page.find_element(By.CSS_SELECTOR, first_cell).text == str(top), WAIT)
        assert "sorted-desc" in page.find_element(
            By.CSS_SELECTOR, "#trials th[data-key='m:acc']"
        ).get_attribute("class")

        # clicking a row opens that trial: its cell, its metrics and its reported curve
        def open_first_row() -> str:  # retried if a poll redrew the row under the click
            row = page.find_element(By.CSS_SELECTOR, "#trials tbody tr")
            number = str(row.find_element(By.CSS_SELECTOR, "td").text)
            # from the top of the page, and without the scroll a webdriver click makes, so
            # that only the page itself can bring the panel (below the table) into view
            page.execute_script("window.scrollTo(0, 0); arguments[0].click()", row)
            return number

        number = wait_for(open_first_row, timeout=WAIT)
        wait_for(lambda: text("trial-number") == number, timeout=WAIT)
        assert not page.find_element(By.ID, "trial-panel").get_attribute("hidden")
        wait_for(lambda: in_view(page, "trial-panel"), WAIT)  # below the table: scrolled to
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#trial-cell svg path.edge"), WAIT)
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-trial .main-svg"), WAIT)
        chosen = next(t for t in exp.trials() if t.number == int(number))
        assert text("trial-arch") == chosen.arch.key
        assert text("trial-status") == chosen.status.value
        metrics = text("trial-metrics")
        assert f"acc {shown(chosen.metrics['acc'])}" in metrics
        assert re.search(f"started {STAMP}", metrics)
        page.find_element(By.ID, "trial-close").click()
        wait_for(lambda: page.find_element(By.ID, "trial-panel").get_attribute("hidden"), WAIT)

        # the search goes on: the page follows without a reload
        page.execute_script("window.__marker = 1")
        exp = make_experiment("demo", trials=8)
        wait_for(lambda: text("trial-count") == "8", timeout=WAIT)
        assert text("best-value") == shown(exp.best().metrics["acc"])
        wait_for(lambda: len(page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == 8, WAIT)
        assert page.execute_script("return window.__marker") == 1  # same page, not reloaded
        wait_for(lambda: text("count-complete") == str(len(exp.trials("complete"))), WAIT)


def test_the_trial_table_pages_through_a_longer_search(
    make_experiment: MakeExperiment, tmp_path: Path
) -> None:
    """(Of an experiment whose name holds a slash, linked as ``team%2Frun``.)"""
    from selenium.webdriver.common.by import By

    make_experiment("team/run", trials=7, two_objectives=False, pruning=False)
    with serve_in_thread(create_app(tmp_path / "store.db")) as url, headless_chromium() as page:

        def text(element_id: str) -> str:
            return str(page.find_element(By.ID, element_id).text)

        def numbers() -> list[str]:
            rows = page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")
            return [r.find_element(By.CSS_SELECTOR, "td").text for r in rows]

        page.get(f"{url}/?poll=300")
        link = wait_for(lambda: page.find_element(By.LINK_TEXT, "team/run"), WAIT)
        assert link.get_attribute("href") == f"{url}/experiments/team%2Frun"
        page.get(f"{url}/experiments/team%2Frun?poll=300&page_size=3")
        wait_for(lambda: text("page-info") == "1–3 of 7", WAIT)
        assert text("exp-name") == "team/run"
        assert numbers() == ["0", "1", "2"] and text("shown-count") == "7"
        # one objective (acc); params, another metric the trials report, has a column after it
        keys = [
            h.get_attribute("data-key") for h in page.find_elements(By.CSS_SELECTOR, "#trials th")
        ]
        assert keys == ["number", "status", "m:acc", "m:params", "duration_s", "arch"]
        page.find_element(By.ID, "page-next").click()
        wait_for(lambda: numbers() == ["3", "4", "5"], WAIT)
        page.find_element(By.ID, "page-next").click()
        wait_for(lambda: numbers() == ["6"], WAIT)
        assert text("page-info") == "7–7 of 7"
        assert page.find_element(By.ID, "page-next").get_attribute("disabled")
        page.find_element(By.ID, "page-prev").click()
        wait_for(lambda: numbers() == ["3", "4", "5"], WAIT)
