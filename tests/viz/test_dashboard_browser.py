"""The dashboard end to end in headless Chromium: list, open, follow a running search."""

from __future__ import annotations

from pathlib import Path

import pytest
from viz_trials import MakeExperiment

from nasforge.viz.dashboard import create_app
from nasforge.viz.dashboard.browser import (
    chromium_missing,
    headless_chromium,
    serve_in_thread,
    wait_for,
)

MISSING = chromium_missing()
#: how long to wait for the page to catch up; generous, since CI machines may be busy
WAIT = 30.0
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"no headless browser: {MISSING}")


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

        def open_demo() -> bool:  # retried if a poll redrew the row under the click
            page.find_element(By.LINK_TEXT, "demo").click()
            return True

        wait_for(open_demo, timeout=WAIT)
        wait_for(lambda: text("trial-count") == "6", timeout=WAIT)
        best = exp.best()
        assert text("best-value") == shown(best.metrics["acc"])
        assert text("best-trial") == str(best.number)
        wait_for(lambda: len(page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == 6, WAIT)
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#best-cell svg path.edge"), WAIT)
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-history .main-svg"), WAIT)
        assert not page.find_element(By.ID, "pareto-panel").get_attribute("hidden")

        # the status filter hides the other rows, without a reload
        Select(page.find_element(By.ID, "status-filter")).select_by_value("complete")
        complete = len(exp.trials("complete"))
        assert text("shown-count") == str(complete)
        assert len(page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == complete
        Select(page.find_element(By.ID, "status-filter")).select_by_value("all")

        # clicking a metric's column sorts it largest first
        header = page.find_element(By.CSS_SELECTOR, "#trials th[data-key='m:acc']")
        header.click()
        first = page.find_element(By.CSS_SELECTOR, "#trials tbody tr td").text
        acc = {t.number: t.metrics.get("acc", float("-inf")) for t in exp.trials()}
        assert acc[int(first)] == max(acc.values())

        # clicking a row opens that trial: its cell, its metrics and its reported curve
        def open_first_row() -> str:  # retried if a poll redrew the row under the click
            row = page.find_element(By.CSS_SELECTOR, "#trials tbody tr")
            number = str(row.find_element(By.CSS_SELECTOR, "td").text)
            row.click()
            return number

        number = wait_for(open_first_row, timeout=WAIT)
        wait_for(lambda: text("trial-number") == number, timeout=WAIT)
        assert not page.find_element(By.ID, "trial-panel").get_attribute("hidden")
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#trial-cell svg path.edge"), WAIT)
        wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#plot-trial .main-svg"), WAIT)
        chosen = next(t for t in exp.trials() if t.number == int(number))
        assert text("trial-arch") == chosen.arch.key
        assert text("trial-status") == chosen.status.value
        metrics = text("trial-metrics")
        assert f"acc {shown(chosen.metrics['acc'])}" in metrics
        page.find_element(By.ID, "trial-close").click()
        wait_for(lambda: page.find_element(By.ID, "trial-panel").get_attribute("hidden"), WAIT)

        # the search goes on: the page follows without a reload
        page.execute_script("window.__marker = 1")
        exp = make_experiment("demo", trials=8)
        wait_for(lambda: text("trial-count") == "8", timeout=WAIT)
        assert text("best-value") == shown(exp.best().metrics["acc"])
        wait_for(lambda: len(page.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == 8, WAIT)
        assert page.execute_script("return window.__marker") == 1  # same page, not reloaded
