"""Every role's pages in Chromium, through `kofu serve`'s app: numbers and accessibility.

The `api` ledger (Tokyo and Kanagawa, FY2020 through every phase, FY2024 open) is
served by the whole application under uvicorn on a loopback port. For each role a
browser logs in through the form, as a person would, and opens that role's pages:
the numbers on each page are checked against the ledger, a screenshot is kept under
test-artifacts/screenshots/, and axe-core (the npm registry's, fetched by
scripts/setup-test-tools) is run in the page: no serious or critical violation.
JavaScript is on for axe only; the pages themselves hold no script (checked).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from adapters.http.app import create_app
from adapters.queries.explain import explanation
from adapters.queries.runs import current_runs
from adapters.queries.submissions import submission_status
from tests.conftest import PUBLISHED_RUN, SHINJUKU, Api
from tests.e2e.test_web_pages import CHROMEDRIVER, CHROMIUM, SCREENSHOTS, _serve

AXE = Path(__file__).parents[2] / ".cache" / "axe" / "node_modules" / "axe-core"
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def served(api: Api) -> Iterator[str]:
    base, server, thread = _serve(create_app(api.url))
    yield base
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def axe_source() -> str:
    script = AXE / "axe.min.js"
    if not script.exists():
        pytest.fail("axe-core is missing: run scripts/setup-test-tools")
    return script.read_text("utf-8")


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1280,1000",
        "--lang=ja-JP",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def log_in(browser: WebDriver, base: str, secret: str) -> None:
    """Log in through the form, by keyboard, as a person would."""
    browser.delete_all_cookies()
    browser.get(base + "/")
    assert browser.current_url == base + "/login"
    field = browser.find_element(By.NAME, "token")
    assert field.get_attribute("id") or field.find_element(By.XPATH, "ancestor::label")
    field.send_keys(secret)
    field.submit()


def check_page(
    browser: WebDriver, axe: str, backend: str, name: str
) -> list[dict[str, Any]]:
    """Screenshot, no script of the page's own, and axe's blocking violations."""
    assert browser.find_elements(By.TAG_NAME, "script") == [], name
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"role-{backend}-{name}.png").write_bytes(
        base64.b64decode(shot["data"])
    )
    # The page's own policy forbids scripts; axe runs through the DevTools
    # protocol, which the policy does not govern.
    browser.execute_cdp_cmd(
        "Runtime.evaluate", {"expression": axe, "returnByValue": False}
    )
    found = browser.execute_cdp_cmd(
        "Runtime.evaluate",
        {
            "expression": "axe.run(document).then(r => JSON.stringify(r))",
            "awaitPromise": True,
            "returnByValue": True,
        },
    )
    results = json.loads(found["result"]["value"])
    # axe really ran its rules on this page (a page it could not read passes none)
    assert len(results["passes"]) > 10, name
    violations: list[dict[str, Any]] = results["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
        for v in violations
        if v["impact"] in BLOCKING
    ]


def _backend(api: Api) -> str:
    return "sqlite" if api.url.startswith("sqlite") else "postgres"


def test_an_insurers_pages_show_its_amounts_and_pass_axe(
    api: Api, served: str, chromium: WebDriver, axe_source: str
) -> None:
    log_in(chromium, served, api.secrets["insurer"])
    assert chromium.current_url.startswith(f"{served}/pages/entities/{SHINJUKU}/")
    chromium.get(f"{served}/pages/entities/{SHINJUKU}/2020")
    ledger = api.client.app.state.service.ledger  # type: ignore[attr-defined]
    shown = chromium.find_elements(By.CSS_SELECTOR, "td.amount[data-run]")
    assert shown
    for cell in shown:
        run = ledger.run(cell.get_attribute("data-run")).calculated
        amount = next(r.amount_yen for r in run.results if r.entity == SHINJUKU)
        assert cell.text == f"{amount:,} 円", cell.get_attribute("data-run")
    # its answers as they stand, each with its points in the latest run
    evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
    rows = chromium.find_elements(By.CSS_SELECTOR, "table.answers tbody tr")
    assert len(rows) == len(evaluation.answers)
    latest = shown[-1].get_attribute("data-run")
    points = {
        item["item"]: item["points"]
        for item in explanation(ledger, ledger.run(latest), SHINJUKU)["items"]
    }
    for row in rows:
        item = row.get_attribute("data-item")
        cell = row.find_elements(By.TAG_NAME, "td")[2].text
        assert cell == str(points[item]), item
    assert check_page(chromium, axe_source, _backend(api), "insurer-entity") == []
    chromium.get(f"{served}/pages/entities/{SHINJUKU}/2024")
    upload = chromium.find_element(By.ID, "workbook")
    label = chromium.find_element(By.CSS_SELECTOR, "label[for=workbook]")
    assert upload.is_displayed()
    assert label.text
    assert check_page(chromium, axe_source, _backend(api), "insurer-upload") == []
    chromium.get(f"{served}/pages/entities/{SHINJUKU}")
    assert chromium.find_elements(By.CSS_SELECTOR, "table.trajectory tbody tr")
    assert check_page(chromium, axe_source, _backend(api), "insurer-years") == []
    # the national overview is not the insurer's: a 403 page, itself accessible
    chromium.get(f"{served}/pages/years/2020")
    assert "403" in chromium.title
    # every page has a way out, the 403 page too
    assert chromium.find_elements(By.CSS_SELECTOR, "form[action='/logout'] button")
    assert check_page(chromium, axe_source, _backend(api), "insurer-403") == []


def test_a_prefectures_board_lists_every_entity_with_its_status_and_passes_axe(
    api: Api, served: str, chromium: WebDriver, axe_source: str
) -> None:
    log_in(chromium, served, api.secrets["prefecture"])
    assert chromium.current_url.startswith(f"{served}/pages/prefectures/13/")
    chromium.get(f"{served}/pages/prefectures/13/2020")
    service = api.client.app.state.service  # type: ignore[attr-defined]
    tokyo = [e for e in service.ledger.entities() if e.prefecture_code == "13"]
    rows = chromium.find_elements(By.CSS_SELECTOR, "table.board tbody tr")
    assert len(rows) == len(tokyo)
    assert chromium.find_element(By.ID, "count-all").text == str(len(tokyo))
    statuses = {
        row.entity: row.status
        for row in submission_status(service.store(), 2020, prefecture="13")
    }
    for row in rows:
        entity = row.get_attribute("data-entity")
        assert row.get_attribute("data-status") == statuses.get(entity, "missing")
    schedule = service.ledger.programme(2020).spec.schedule
    assert chromium.find_element(By.ID, "closes").text == str(
        schedule.submission_closes
    )
    assert check_page(chromium, axe_source, _backend(api), "prefecture-board") == []


@pytest.mark.parametrize("holder", ["ministry", "auditor"])
def test_an_overseers_pages_show_the_national_totals_and_pass_axe(
    api: Api, served: str, chromium: WebDriver, axe_source: str, holder: str
) -> None:
    log_in(chromium, served, api.secrets[holder])
    assert chromium.current_url == f"{served}/pages/"
    ledger = api.client.app.state.service.ledger  # type: ignore[attr-defined]
    in_force = current_runs(ledger, 2020, None, None, None, None)
    grand = sum(r.calculated.totals.allocated_yen for r in in_force)
    assert chromium.find_element(By.ID, "grand-total").text == f"{grand:,}"
    backend = _backend(api)
    assert check_page(chromium, axe_source, backend, f"{holder}-overview") == []
    chromium.get(f"{served}/pages/runs/{PUBLISHED_RUN}")
    run = ledger.run(PUBLISHED_RUN).calculated
    assert f"{run.totals.allocated_yen:,}" in chromium.page_source
    assert check_page(chromium, axe_source, backend, f"{holder}-run") == []
    chromium.get(f"{served}/pages/prefectures/14/2020")
    assert check_page(chromium, axe_source, backend, f"{holder}-board") == []
    chromium.get(f"{served}/pages/trends")
    assert chromium.find_elements(By.CSS_SELECTOR, "table.trends tbody tr")
    assert check_page(chromium, axe_source, backend, f"{holder}-trends") == []
    chromium.get(f"{served}/pages/entities/999999/2020")
    assert "404" in chromium.title
    assert check_page(chromium, axe_source, backend, f"{holder}-404") == []


def test_the_login_page_passes_axe(
    api: Api, served: str, chromium: WebDriver, axe_source: str
) -> None:
    chromium.delete_all_cookies()
    chromium.get(f"{served}/login")
    assert check_page(chromium, axe_source, _backend(api), "login") == []
