"""A page opened by its URL as the server's very first request (a bookmark, or a tab left open
while `make run` restarts) runs under home.py's navigation: the page titles in the menu, the wide
layout, the same page and section (app.widgets.common.use_app_navigation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import section_is, serving, wait_for_app

pytestmark = pytest.mark.e2e


def test_a_deep_link_first_gets_the_apps_menu_and_its_page(browser, tmp_path: Path) -> None:
    with serving(tmp_path) as server:  # nobody has opened "/" on this server yet
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        try:
            page.goto(f"{server.url}/dataset?section=health")
            wait_for_app(page)
            page.wait_for_timeout(1000)
            wait_for_app(page)
            menu = page.get_by_test_id("stSidebarNav").inner_text()
            assert "Datasets" in menu and "Experiments" in menu, menu
            assert "home" not in menu.split(), menu  # not the pages/ folder's file names
            assert page.locator("h1").first.inner_text() == "Datasets"
            assert page.url.endswith("/dataset?section=health")
            section_is(page, "Health")
        finally:
            context.close()
