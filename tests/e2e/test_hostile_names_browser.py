"""Names are text, never markup, and the server answers loopback names only (issue 18).

A category named like a Markdown image (as an imported COCO file may name one) is shown as typed
on Annotate (category select, face grid) and makes no request leave 127.0.0.1; GET / and the websocket
with `Host: evil.example` are refused while 127.0.0.1 works."""

from __future__ import annotations

import base64
import http.client
import os
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from core.annotation.annotations import Box
from core.annotation.projects import Project
from tests.e2e.conftest import AppServer, wait_for_app
from tests.e2e.test_offline_browser import off_loopback
from tests.images import image_bytes

pytestmark = pytest.mark.e2e

HOSTILE = "![t](http://203.0.113.7/t.png)"
HOSTILE_PROJECT = "[p](http://203.0.113.7/p)"


def _status(url: str, path: str, host: str, *, websocket: bool = False) -> int:
    """The HTTP status of GET `path` sent with Host `host` (a websocket upgrade when asked)."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    headers = {"Host": host}
    if websocket:
        key = base64.b64encode(os.urandom(16)).decode()
        headers.update(
            {
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": key,
            }
        )
    try:
        conn.request("GET", path, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_other_host_names_are_refused_loopback_works(app_server: AppServer) -> None:
    port = urlparse(app_server.url).port
    assert _status(app_server.url, "/", f"127.0.0.1:{port}") == 200
    assert _status(app_server.url, "/", f"localhost:{port}") == 200
    assert _status(app_server.url, "/_stcore/stream", f"127.0.0.1:{port}", websocket=True) == 101
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        assert _status(app_server.url, "/", host) == 400
        assert _status(app_server.url, "/_stcore/health", host) == 400
        assert _status(app_server.url, "/_stcore/stream", host, websocket=True) == 403


def test_a_hostile_category_name_is_shown_as_typed_and_fetches_nothing(app_server: AppServer, page) -> None:
    project = Project.create(HOSTILE_PROJECT, app_server.workspace)
    image = project.add_image("![i](http:__203.0.113.7_i.png).png", image_bytes((320, 240), (90, 90, 90)))
    with project.edit() as ann:
        ann.add_category(HOSTILE)
        ann.add_box(image, Box(40, 40, 140, 160, HOSTILE))  # the category buttons show with a box
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(f"{app_server.url}/?project={project.name}")
    wait_for_app(page)
    category = page.get_by_role("combobox", name="Category for new boxes")
    expect(category).to_have_value(HOSTILE, timeout=60_000)  # the category reads as typed
    expect(page.get_by_text(f"#1 {HOSTILE}").first).to_be_visible(timeout=60_000)  # the face grid's crop
    expect(page.get_by_test_id("stMain").get_by_text(image).first).to_be_visible()
    page.wait_for_timeout(1500)  # late requests: images in labels load after layout
    assert page.locator("img[src*='203.0.113.7']").count() == 0
    assert any("/_stcore/" in u for u in requested)  # the log works
    assert off_loopback(requested) == []
