"""The committed leaderboard page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``.ci/run``) driven through Selenium.

It opens ``results/v1/leaderboard.html`` from ``file://`` with every network request sent to a proxy that
does not exist, and checks what a reader would: the leaderboard tables hold the rows that
``analysis.ranking.leaderboard`` makes of ``results/v1/results.csv``, in order, the charts render, changing the task drop-down changes what the chart
draws, and the page asked for nothing but its own file. Skips, with the reason, where no browser is installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "results" / "v1" / "leaderboard.html"
RESULTS = ROOT / "results" / "v1" / "results.csv"
LOCAL_SCHEMES = {"file", "data", "about", "blob"}


def _browser() -> tuple[str, str] | None:
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    found = _browser()
    if found is None:
        pytest.skip("no headless Chromium here: apt-get install chromium chromium-driver (.ci/run does)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--window-size=1400,1000",
                 "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        driver.get(PAGE.as_uri())
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return document.body.dataset.chartsReady || document.body.dataset.chartsError"))
        yield driver
    finally:
        driver.quit()


def _marks(driver) -> int:
    """Points drawn in the charts (symbol marks of both charts' SVG)."""
    return driver.execute_script("return document.querySelectorAll('#charts svg g.mark-symbol path').length")


def test_charts_render_without_error(browser):
    assert browser.execute_script("return document.body.dataset.chartsError || ''") == ""
    assert _marks(browser) > 0


def test_leaderboard_tables_hold_the_csv_rows_in_order(browser):
    from selenium.webdriver.common.by import By

    from prunebench.analysis.ranking import leaderboard
    from prunebench.analysis.results import load_results

    board = leaderboard(load_results(RESULTS))  # what the page was generated from, by the code of this checkout
    tables = browser.find_elements(By.CSS_SELECTOR, "table.leaderboard")
    assert len(tables) == board.groupby(["model", "regime_family", "grid"]).ngroups
    for (model, fam, grid), g in board.groupby(["model", "regime_family", "grid"], sort=False):
        table = browser.find_element(By.ID, f"leaderboard-{model}-{fam}-{grid}")
        cells = [row.find_elements(By.TAG_NAME, "td") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert [c[1].text for c in cells] == list(g["method"])
        ranks = [c[0].text.split()[0] for c in cells]
        assert ranks == ["—" if pd.isna(r) else str(int(r)) for r in g["rank"]]


def test_task_filter_changes_the_chart(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    task = Select(browser.find_element(By.CSS_SELECTOR, "select[name='task']"))
    assert task.first_selected_option.text == "SST-2"
    before = _marks(browser)
    task.select_by_visible_text("CoLA")
    WebDriverWait(browser, 20).until(lambda d: _marks(d) != before)
    assert browser.execute_script("return window.prunebenchView.signal('task')") == "CoLA"
    assert 0 < _marks(browser) < before  # SST-2 has every method at more sparsities and seeds than CoLA
    task.select_by_visible_text("SST-2")
    WebDriverWait(browser, 20).until(lambda d: _marks(d) == before)


def test_page_makes_no_network_request(browser):
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    assert requested, "the performance log recorded no request at all (not even the page itself)"
    remote = [u for u in requested if urlparse(u).scheme not in LOCAL_SCHEMES]
    assert remote == []
