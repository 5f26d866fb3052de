"""Every page works offline: no request leaves 127.0.0.1 (issue 12: the favicon came from
fonts.gstatic.com, a console error on every page without internet)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import AppServer, wait_for_app

pytestmark = pytest.mark.e2e

PAGES = ["", "dataset", "experiments", "predict", "live"]


def off_loopback(urls: list[str]) -> list[str]:
    """The URLs of `urls` that go anywhere but 127.0.0.1 (data: and blob: stay in the page)."""
    out = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about"):
            continue
        if parsed.hostname != "127.0.0.1":
            out.append(url)
    return out


def test_no_request_leaves_loopback_on_any_page(app_server: AppServer, page) -> None:
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    for path in PAGES:
        page.goto(f"{app_server.url}/{path}")
        wait_for_app(page)
        page.wait_for_timeout(1000)  # late requests: icons, fonts, the favicon
    assert any("/_stcore/" in u or "/static/" in u for u in requested)  # the log works
    assert off_loopback(requested) == []
