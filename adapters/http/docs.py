"""/docs and /redoc: FastAPI's API documentation pages with a policy of their own.

Every other answer forbids scripts (`limits.CSP_PAGES`). These two pages need theirs:
the policy is made from the page itself, allowing exactly the scripts it loads (by
address) and the inline script it holds (by its SHA-256), nothing else.

Their scripts, styles and icon are served by kofu itself from the installed
`fastapi-offline` package (`/docs-assets/…`), never from a CDN: government networks
such as LGWAN are closed, and a page that needs the internet would be blank there.
No font is fetched either (ReDoc's Google Fonts are switched off).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from adapters.http.errors import ApiError

router = APIRouter(include_in_schema=False)
TITLE = "kofu (交付) API"
ASSETS = "/docs-assets"
# The only files served under ASSETS, by name: no directory is exposed.
_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_SCRIPT = re.compile(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)
_SOURCE = re.compile(r"""src=["'](?P<url>[^"']+)["']""")
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_STYLESHEET = re.compile(r"""<link[^>]*href=["'](?P<url>[^"']+)["'][^>]*>""")


def policy(page: str, host: str) -> str:
    """A Content-Security-Policy allowing exactly the scripts of `page`.

    A script the page loads from kofu itself (an address starting with `/`) is
    named by `host` and path, without a scheme: it then matches the scheme the page
    itself was loaded by (a proxy's https included).
    """

    def full(url: str) -> str:
        if not url.startswith("/"):
            return url
        # A Host header that is not a plain host[:port] never enters the policy.
        return f"{host}{url}" if _HOST.fullmatch(host) else "'self'"

    scripts: list[str] = []
    for found in _SCRIPT.finditer(page):
        source = _SOURCE.search(found.group("attributes"))
        if source:
            scripts.append(full(source.group("url")))
        elif found.group("body").strip():
            digest = hashlib.sha256(found.group("body").encode()).digest()
            scripts.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    links = [full(m.group("url")) for m in _STYLESHEET.finditer(page)]
    styles = [u for u in links if not u.endswith((".png", ".ico"))]
    images = [u for u in links if u.endswith((".png", ".ico"))]
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(scripts)}",
            f"style-src 'unsafe-inline' {' '.join(styles)}".strip(),
            "font-src 'self' data:",
            f"img-src 'self' data: {' '.join(images)}".strip(),
            "connect-src 'self'",
            "worker-src blob:",  # ReDoc searches in a worker it makes from a blob
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _with_policy(request: Request, response: HTMLResponse) -> HTMLResponse:
    page = bytes(response.body).decode()
    host = request.headers.get("host", request.url.netloc)
    return HTMLResponse(page, headers={"Content-Security-Policy": policy(page, host)})


# Addresses on the internet that the packaged files hold, removed when kofu serves
# them: ReDoc's sidebar shows Redocly's logo from their CDN (an image that hides
# itself when it does not load, as it then does not).
_OUTSIDE: dict[str, tuple[bytes, ...]] = {
    "redoc.standalone.js": (b"https://cdn.redoc.ly/redoc/logo-mini.svg",),
}


def _static() -> Path:
    """The folder of the installed package's Swagger UI and ReDoc files."""
    return Path(str(files("fastapi_offline") / "static"))


@cache
def _content(name: str) -> bytes:
    """A packaged file as kofu serves it (read once; internet addresses removed)."""
    content = (_static() / name).read_bytes()
    for address in _OUTSIDE.get(name, ()):
        content = content.replace(address, b"")
    return content


def _asset(request: Request, name: str) -> str:
    """The address of an asset on this server (the same scheme as the page's)."""
    return f"{request.scope.get('root_path', '')}{ASSETS}/{name}"


@router.get(ASSETS + "/{name}")
def asset(name: str) -> Response:
    """One of the documentation pages' own files (a fixed list; 404 otherwise)."""
    media = _FILES.get(name)
    if media is None:
        raise ApiError(404, f"no documentation file {name!r}", "path")
    return Response(
        _content(name),
        media_type=media,
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/docs")
def swagger(request: Request) -> HTMLResponse:
    """Swagger UI on /openapi.json, from kofu's own copy of its files."""
    return _with_policy(
        request,
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} - docs",
            swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=_asset(request, "swagger-ui.css"),
            swagger_favicon_url=_asset(request, "favicon.png"),
        ),
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc on /openapi.json, from kofu's own copy of its files, no web fonts."""
    return _with_policy(
        request,
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} - ReDoc",
            redoc_js_url=_asset(request, "redoc.standalone.js"),
            redoc_favicon_url=_asset(request, "favicon.png"),
            with_google_fonts=False,
        ),
    )
