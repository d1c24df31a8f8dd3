"""/docs and /redoc: FastAPI's API documentation pages with a policy of their own.

Every other answer forbids scripts (`limits.CSP_PAGES`). These two pages need theirs:
the policy is made from the page itself, allowing exactly the scripts it loads (by
address) and the inline script it holds (by its SHA-256), nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
TITLE = "kofu (交付) API"
_SCRIPT = re.compile(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)
_SOURCE = re.compile(r"""src=["'](?P<url>[^"']+)["']""")
_STYLESHEET = re.compile(r"""<link[^>]*href=["'](?P<url>[^"']+)["'][^>]*>""")


def policy(page: str) -> str:
    """A Content-Security-Policy allowing exactly the scripts of `page`."""
    scripts: list[str] = []
    for found in _SCRIPT.finditer(page):
        source = _SOURCE.search(found.group("attributes"))
        if source:
            scripts.append(source.group("url"))
        elif found.group("body").strip():
            digest = hashlib.sha256(found.group("body").encode()).digest()
            scripts.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    links = [m.group("url") for m in _STYLESHEET.finditer(page)]
    styles = [u for u in links if not u.endswith((".png", ".ico"))]
    images = [u for u in links if u.endswith((".png", ".ico"))]
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(scripts)}",
            f"style-src 'unsafe-inline' {' '.join(styles)}".strip(),
            "font-src https://fonts.gstatic.com",
            f"img-src 'self' data: {' '.join(images)}".strip(),
            "connect-src 'self'",
            "worker-src blob:",  # ReDoc searches in a worker it makes from a blob
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _with_policy(response: HTMLResponse) -> HTMLResponse:
    page = bytes(response.body).decode()
    return HTMLResponse(page, headers={"Content-Security-Policy": policy(page)})


@router.get("/docs")
def swagger() -> HTMLResponse:
    """Swagger UI on /openapi.json."""
    return _with_policy(
        get_swagger_ui_html(openapi_url="/openapi.json", title=f"{TITLE} - docs")
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc on /openapi.json."""
    return _with_policy(
        get_redoc_html(openapi_url="/openapi.json", title=f"{TITLE} - ReDoc")
    )
