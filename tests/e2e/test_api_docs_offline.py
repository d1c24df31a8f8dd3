"""/docs and /redoc render on a closed network, under their own policy (issue 20).

The API server runs under uvicorn on a loopback port; Debian's Chromium, with
JavaScript on (Swagger UI and ReDoc are scripts), is told that no host name
resolves except the loopback address, as on a network such as LGWAN. Each page must
render the API's title, every request the browser made must have gone to kofu
itself (its performance log lists them all, the workers' included), and the
browser must report no Content-Security-Policy violation. A screenshot of each page
is kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from adapters.http.app import create_app
from adapters.http.docs import TITLE
from tests.e2e.test_web_pages import CHROMEDRIVER, CHROMIUM, SCREENSHOTS, _serve

# Every page title below is the API's own, shown once the script has rendered it.
PAGES = {
    "/docs": ".swagger-ui .info .title",
    "/redoc": "redoc h1",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("docs")
    app = create_app(f"sqlite:///{folder / 'kofu.db'}")
    base, uvicorn_server, thread = _serve(app)
    yield base
    uvicorn_server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def closed_network_browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--lang=ja-JP",
        # The closed network: no name resolves, only the loopback address answers.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability(
        "goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _requested(browser: WebDriver) -> list[str]:
    """Every address the browser asked for since the last call (performance log)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _screenshot(browser: WebDriver, name: str) -> None:
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"api-{name}.png").write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("path", sorted(PAGES))
def test_the_api_documentation_renders_with_the_network_closed(
    server: str, closed_network_browser: WebDriver, path: str
) -> None:
    browser = closed_network_browser
    browser.get_log("performance")  # forget what earlier pages asked for
    browser.get_log("browser")
    browser.get(server + path)
    try:
        title = WebDriverWait(browser, 30).until(
            lambda b: b.find_element(By.CSS_SELECTOR, PAGES[path]).text.strip() or None
        )
    except TimeoutException:
        _screenshot(browser, path.strip("/") + "-failed")
        pytest.fail(f"{path} did not render its title within 30 s")
    assert TITLE in title
    _screenshot(browser, path.strip("/"))
    requested = _requested(browser)
    assert any(url.endswith("/openapi.json") for url in requested), requested
    leaving = [
        url for url in requested if not url.startswith((server + "/", "data:", "blob:"))
    ]
    assert leaving == [], f"{path} asked for addresses outside kofu: {leaving}"
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert violations == []


def test_only_the_listed_documentation_files_are_served(server: str) -> None:
    with urllib.request.urlopen(  # noqa: S310 - the loopback test server
        server + "/docs-assets/swagger-ui-bundle.js", timeout=30
    ) as answer:
        assert answer.headers["content-type"].startswith("text/javascript")
        assert b"SwaggerUIBundle" in answer.read()
    for name in ("core.py", "..%2Fcore.py", "%2e%2e/__init__.py", "static", ""):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server + "/docs-assets/" + name, timeout=30)  # noqa: S310
        assert refused.value.code == 404, name
