"""The audit web pages, loaded in headless Chromium with JavaScript switched off.

One small national year per backend (Tokyo alone, through every phase, with
the demo's story corrections of 新宿区) is served by the web router under uvicorn
on a free loopback port; Debian's Chromium, driven by Selenium through Debian's
chromedriver (no browser is downloaded), loads each page. The pages' numbers are
checked against the ledger itself, and each page is saved as a PNG under
test-artifacts/screenshots/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from adapters.kofu import Kofu, record_phase, run_demo
from adapters.queries.explain import explanation
from adapters.queries.runs import current_runs
from adapters.runtools.diff import diff
from adapters.storage.bootstrap import StorageUnavailableError, open_ledger
from adapters.storage.projecting import catch_up
from adapters.storage.rebuilding import open_store
from adapters.web import router
from adapters.web.deps import close_ledgers, get_ledger, get_store
from adapters.web.errors import not_found_page
from adapters.web.formatting import sen
from domain.commands import PublishCatalogue
from domain.ledger import Ledger
from tests.conftest import PG_BASE, _drop_schema

SHINJUKU = "131041"
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"  # Debian packages chromium and chromium-driver
CHROMEDRIVER = "/usr/bin/chromedriver"
_TAKEN: set[Path] = set()


@dataclass
class Site:
    """The pages served on one backend, and the ledger they show."""

    base: str
    backend: str
    ledger: Ledger


def _broken_app() -> FastAPI:
    """The same pages whose storage fails: an unexpected error and an outage."""
    broken = FastAPI()
    broken.include_router(router)

    def fails() -> None:
        msg = "secret internal detail"
        raise RuntimeError(msg)

    broken.dependency_overrides[get_store] = fails
    down = FastAPI()
    down.include_router(router)

    def unavailable() -> None:
        msg = "cannot reach PostgreSQL"
        raise StorageUnavailableError(msg)

    down.dependency_overrides[get_ledger] = unavailable
    app = FastAPI()
    app.mount("/broken", broken)
    app.mount("/down", down)
    return app


def _serve(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'kofu.db'}"
    else:
        schema = f"kofu_web_{abs(hash(str(folder))) % 10**8}"
        url = f"{PG_BASE.split('?')[0]}?schema={schema}"
    ledger = open_ledger(url)
    run_demo(ledger, 2020, 1, Console(quiet=True), prefectures={"13"})
    # A later year whose catalogue is published but which has no programme or run.
    later = load_files([data_dir() / "catalogues" / "fy2024-municipal-v1.yaml"])
    ledger.publish_catalogue(PublishCatalogue(spec=later.catalogues[0][0]))
    # The reference phase run again after the corrections: reference-2 supersedes 1.
    record_phase(ledger, 2020, "reference", "ministry:web-test")
    # Written through the ledger directly: the writer (this fixture) signs.
    Kofu(ledger=ledger).checkpoint()
    app = FastAPI()
    app.include_router(router)
    prefixed = FastAPI()  # as the HTTP API will include it: under a prefix
    prefixed.include_router(router, prefix="/audit")
    app.mount("/api", prefixed)
    app.add_exception_handler(404, not_found_page)
    app.mount("/fail", _broken_app())
    with pytest.MonkeyPatch.context() as env:
        # The pages open their own ledger from the setting, as `kofu serve` does.
        env.setenv("KOFU_DATABASE_URL", url)
        base, server, thread = _serve(app)
        try:
            yield Site(base, request.param, ledger)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            close_ledgers()
            ledger.close()
            if schema:
                _drop_schema(schema)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
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
    # The pages must work without JavaScript: the browser runs none.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _open(browser: WebDriver, site: Site, path: str, name: str) -> WebDriver:
    """Load a page, check it has no script, and save a full-page screenshot."""
    browser.get(site.base + path)
    assert not browser.find_elements(By.TAG_NAME, "script")
    target = SCREENSHOTS / f"{site.backend}-{name}.png"
    if target in _TAKEN:  # one screenshot per page and backend is enough
        return browser
    _TAKEN.add(target)
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": min(size["height"], 8000),
                "scale": 1,
            },
        },
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(shot["data"]))
    return browser


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _text(browser: WebDriver, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def test_overview_shows_the_year_in_wareki_and_the_totals_of_the_runs_in_force(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, "/years/2020", "overview")
    assert "令和2年度 (FY2020)" in page.title
    assert "全国の配分の概要" in _text(page, "h1")
    in_force = current_runs(site.ledger, 2020, None, None, None, None)
    assert {r.calculated.phase for r in in_force} == {"settlement"}
    for run in in_force:
        c = run.calculated
        cell = _text(page, f'[data-total="{c.grant}-{c.tier}"]')
        assert cell == f"{c.totals.allocated_yen:,}"
    grand = sum(r.calculated.totals.allocated_yen for r in in_force)
    assert _text(page, "#grand-total") == f"{grand:,}"
    assert "【仮説 HYPOTHESIS】" in _text(page, "main")


def test_overview_links_every_latest_run_and_every_entity(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, "/", "home")
    assert "令和2年度 (FY2020)" in page.title
    links = {a.get_attribute("href") for a in page.find_elements(By.TAG_NAME, "a")}
    for phase_runs in site.ledger.phase_runs(2020):
        assert f"{site.base}/runs/{phase_runs.current}" in links
    shinjuku = f"{site.base}/entities/{SHINJUKU}/2020"
    assert shinjuku in links
    entities = {link for link in links if "/entities/" in link}
    municipal = current_runs(site.ledger, 2020, "promotion", "municipal", None, None)
    prefectural = current_runs(
        site.ledger, 2020, "promotion", "prefectural", None, None
    )
    expected = len(municipal[0].calculated.results) + len(
        prefectural[0].calculated.results
    )
    assert len(entities) == expected
    page.find_element(By.CSS_SELECTOR, f'a[href$="/entities/{SHINJUKU}/2020"]').click()
    assert "新宿区" in page.title


def test_band_chart_and_its_table_add_up_to_the_municipal_run_in_force(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, "/years/2020", "overview")
    run = current_runs(site.ledger, 2020, "promotion", "municipal", None, None)[0]
    bands = sorted({r.size_band for r in run.calculated.results if r.size_band})
    charts = page.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(charts) == 2  # one per grant (municipal tier)
    assert len(charts[0].find_elements(By.TAG_NAME, "rect")) == len(bands)
    table = page.find_elements(By.CSS_SELECTOR, "figure + table")[0]
    cells = [
        row.find_elements(By.TAG_NAME, "td")[-1].text
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    for band, cell in zip(bands, cells, strict=True):
        amount = sum(
            r.amount_yen for r in run.calculated.results if r.size_band == band
        )
        assert cell == sen(amount)
    assert "区分1: 0〜2,999人" in table.text
    headings = page.find_elements(By.XPATH, "//figure/preceding-sibling::h3[1]")
    assert len(headings) == 2
    assert all("【仮説 HYPOTHESIS】" in h.text for h in headings)  # banded rule


def test_entity_page_explains_each_phase_with_the_ledgers_amounts(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, f"/entities/{SHINJUKU}/2020", "entity")
    assert "新宿区" in page.title
    assert "令和2年度 (FY2020)" in _text(page, "h1")
    amounts = {
        cell.get_attribute("data-run"): cell.text
        for cell in page.find_elements(By.CSS_SELECTOR, "td.amount")
    }
    runs = [
        run
        for phase_runs in site.ledger.phase_runs(2020)
        if phase_runs.tier == "municipal"
        for run in [site.ledger.run(str(phase_runs.current))]
    ]
    assert len(amounts) == len(runs) == 10
    for run in runs:
        expected = explanation(site.ledger, run, SHINJUKU)["amount_yen"]
        assert amounts[run.calculated.run_id] == f"{expected:,} 円"
    assert "交付見込額・保険者機能強化推進交付金" in _text(page, "main")


def test_entity_timeline_lists_every_event_in_ledger_order_with_the_correction(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, f"/entities/{SHINJUKU}/2020", "entity")
    rows = page.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr")
    positions = [int(row.find_element(By.TAG_NAME, "td").text) for row in rows]
    assert positions == sorted(positions)
    store = open_store(site.ledger)
    catch_up(site.ledger, store)
    trail = store.rows(
        "audit_trail", {"entity": SHINJUKU, "grant_year": 2020}, ["position"]
    )
    assert positions == [t["position"] for t in trail]
    evaluation = site.ledger.self_evaluation(SHINJUKU, 2020, "municipal")
    own = len(site.ledger.history(evaluation.id))
    assert len(rows) >= own + 10  # its self-evaluation events and 10 runs
    corrections = [row.text for row in rows if "Corrected" in row.text]
    assert any(
        "【合成】expected 公表後" in text and "ministry:kofu-demo" in text
        for text in corrections
    )
    assert any("→" in text for text in corrections)  # before → after


def test_run_page_shows_the_receipt_and_labels_the_hypothesis(
    site: Site, browser: WebDriver
) -> None:
    run_id = "FY2020-promotion-municipal-provisional-1"
    page = _open(browser, site, f"/runs/{run_id}", "run")
    c = site.ledger.run(run_id).calculated
    receipt = _text(page, "table.receipt")
    for value in (
        c.output_sha256,
        c.inputs.parameters_sha256,
        c.inputs.rule_id,
        c.inputs.code_version,
        str(c.inputs.ledger_position),
    ):
        assert value
        assert value in receipt
    assert c.hypothesis
    assert "【仮説 HYPOTHESIS】" in receipt
    assert _text(page, "#allocated") == f"{c.totals.allocated_yen:,} 円"
    assert "令和2年度 (FY2020)" in _text(page, "main")


def test_run_page_diffs_against_the_previous_phase_and_names_the_correction(
    site: Site, browser: WebDriver
) -> None:
    run_id = "FY2020-promotion-municipal-provisional-1"
    page = _open(browser, site, f"/runs/{run_id}", "run")
    before = site.ledger.run("FY2020-promotion-municipal-expected-1").calculated
    expected = diff(site.ledger, before, site.ledger.run(run_id).calculated)
    rows = page.find_elements(By.CSS_SELECTOR, "table.diff tbody tr")
    assert len(rows) == len(expected) > 0
    shinjuku = next(row for row in rows if SHINJUKU in row.text)
    change = next(d for d in expected if d["entity"] == SHINJUKU)["change_yen"]
    assert f"{change:+,}" in shinjuku.text
    assert "Corrected" in shinjuku.text
    page.find_element(
        By.CSS_SELECTOR, 'a[href$="/runs/FY2020-promotion-municipal-expected-1"]'
    ).click()
    assert "expected-1" in page.title


def test_unknown_codes_runs_and_years_get_the_404_page(
    site: Site, browser: WebDriver
) -> None:
    for path in (
        "/entities/999999/2020",
        "/entities/abc/2020",
        f"/entities/{SHINJUKU}/1999",
        "/years/2031",
        "/years/FY20",
        "/runs/FY2020-promotion-municipal-expected-9",
        "/no/such/page",
    ):
        status, body = _status(site.base + path)
        assert status == 404, path
        assert "ページが見つかりません" in body
    page = _open(browser, site, "/runs/no-such-run", "not-found")
    assert "404" in page.title


def test_failures_show_an_error_page_without_a_traceback(site: Site) -> None:
    status, body = _status(f"{site.base}/fail/broken/years/2020")
    assert status == 500
    assert "エラーが発生しました" in body
    assert "Traceback" not in body
    assert "secret internal detail" not in body
    status, body = _status(f"{site.base}/fail/down/runs/x")
    assert status == 503
    assert "データベースに接続できません" in body


def test_prefecture_page_explains_the_prefectural_tier(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, "/entities/130001/2020", "prefecture")
    assert "東京都" in page.title
    run = current_runs(site.ledger, 2020, "effort_support", "prefectural", None, None)[
        0
    ]
    amount = next(r for r in run.calculated.results if r.entity == "130001").amount_yen
    cell = page.find_element(
        By.CSS_SELECTOR, f'td.amount[data-run="{run.calculated.run_id}"]'
    )
    assert cell.text == f"{amount:,} 円"
    assert "都道府県分" in _text(page, "main")


def test_home_stays_on_the_latest_year_with_runs_and_links_a_year_without_any(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, "/", "home")
    assert "(FY2020)" in page.title
    page.find_element(By.LINK_TEXT, "令和6年度 (FY2024)").click()
    assert "令和6年度 (FY2024)" in page.title
    main = _text(page, "main")
    assert "まだ登録されていません" in main
    assert "まだ算定されていません" in main
    assert not page.find_elements(By.CSS_SELECTOR, "figure svg")


def test_links_keep_the_prefix_the_router_is_mounted_under(site: Site) -> None:
    status, body = _status(f"{site.base}/api/audit/years/2020")
    assert status == 200
    assert 'href="/api/audit/runs/FY2020-promotion-municipal-settlement-1"' in body
    assert f'href="/api/audit/entities/{SHINJUKU}/2020"' in body
    assert 'href="/runs/' not in body


def test_a_rerun_is_diffed_against_the_run_it_supersedes(
    site: Site, browser: WebDriver
) -> None:
    run_id = "FY2020-promotion-municipal-reference-2"
    page = _open(browser, site, f"/runs/{run_id}", "rerun")
    first = "FY2020-promotion-municipal-reference-1"
    assert site.ledger.run(run_id).calculated.supersedes == first
    main = _text(page, "main")
    assert "同じ段階の前回の算定" in main
    assert "（第2回）" in main
    links = [a.get_attribute("href") for a in page.find_elements(By.TAG_NAME, "a")]
    assert links.count(f"{site.base}/runs/{first}") == 2  # supersedes, compared with
    expected = diff(
        site.ledger,
        site.ledger.run(first).calculated,
        site.ledger.run(run_id).calculated,
    )
    # The two story corrections of 新宿区 cancel out: nobody's amount changed.
    assert expected == []
    assert not page.find_elements(By.CSS_SELECTOR, "table.diff")
    assert "得点・配分額の変わった団体はありません" in main
    overview = _open(browser, site, "/years/2020", "overview")
    row = overview.find_element(By.XPATH, f"//tr[td/a[text()='{run_id}']]")
    assert row.find_elements(By.TAG_NAME, "td")[2].text == "2"  # runs recorded


def _entity_codes(html: str) -> list[str]:
    body = html.split('id="entity-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-entity="([0-9]{6})">', body)


def test_the_entity_table_searches_filters_and_pages(site: Site) -> None:
    in_force = current_runs(site.ledger, 2020, None, None, None, None)
    everyone = sorted({r.entity for run in in_force for r in run.calculated.results})
    status, page = _status(f"{site.base}/years/2020?per=50")
    assert status == 200
    first = _entity_codes(page)
    assert len(first) == min(50, len(everyone))
    assert f"{len(everyone):,} 団体のうち条件に合う {len(everyone):,} 団体" in page
    # the second page follows the first, with nothing repeated
    status, second_page = _status(f"{site.base}/years/2020?per=50&page=2")
    second = _entity_codes(second_page)
    assert second
    assert not set(first) & set(second)
    assert 'rel="prev"' in second_page
    # every row, across all pages, once: the print view shows them together
    status, all_rows = _status(f"{site.base}/years/2020?per=2000")
    assert sorted(_entity_codes(all_rows)) == sorted(everyone)
    assert 'rel="next"' not in all_rows
    # search by name and by code
    _, found = _status(f"{site.base}/years/2020?q=" + urllib.parse.quote("新宿"))
    assert _entity_codes(found) == [SHINJUKU]
    _, found = _status(f"{site.base}/years/2020?q=13104")
    assert _entity_codes(found) == [SHINJUKU]
    # a band filter keeps only that band's rows, checked against the read model
    _, banded = _status(f"{site.base}/years/2020?band=1&per=2000")
    in_band = {
        r.entity
        for run in in_force
        for r in run.calculated.results
        if run.calculated.tier == "municipal" and r.size_band == 1
    }
    assert in_band
    assert set(_entity_codes(banded)) == in_band


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per=7", "per"),
        ("page=0", "page"),
        ("prefecture=東京", "prefecture"),
        ("band=x", "band"),
        ("q=" + "x" * 51, "q"),
    ],
)
def test_a_bad_table_parameter_is_a_page_naming_it(
    site: Site, query: str, field: str
) -> None:
    status, page = _status(f"{site.base}/years/2020?" + urllib.parse.quote(query, "="))
    assert status == 422
    assert f" {field} " in page


def test_the_trajectory_and_trend_pages_show_the_runs_figures(
    site: Site, browser: WebDriver
) -> None:
    page = _open(browser, site, f"/entities/{SHINJUKU}", "trajectory")
    rows = page.find_elements(By.CSS_SELECTOR, "table.trajectory tbody tr")
    in_force = current_runs(site.ledger, 2020, None, "municipal", None, None)
    assert len(rows) == len(in_force)
    for row in rows:
        run = next(
            r.calculated
            for r in in_force
            if r.calculated.grant == row.get_attribute("data-grant")
        )
        line = next(r for r in run.results if r.entity == SHINJUKU)
        cell = row.find_element(By.CSS_SELECTOR, "td.amount").text
        assert cell == f"{line.amount_yen:,}"
    assert page.find_elements(By.CSS_SELECTOR, "figure svg[role=img]")
    page = _open(browser, site, "/trends", "trends")
    shown = page.find_elements(By.CSS_SELECTOR, "table.trends tbody tr")
    every = current_runs(site.ledger, 2020, None, None, None, None)
    assert len(shown) == len(every)
    for row in shown:
        run = next(
            r.calculated
            for r in every
            if (r.calculated.grant, r.calculated.tier)
            == (row.get_attribute("data-grant"), row.get_attribute("data-tier"))
        )
        allocated = row.find_element(By.CSS_SELECTOR, "td.allocated").text
        assert allocated == f"{run.totals.allocated_yen:,}"
