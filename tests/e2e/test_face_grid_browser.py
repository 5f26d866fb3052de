"""The face grid in a real browser: keys at a person's pace, every label saved; two tabs on one
image, a stale Delete or label never reaches another box."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.annotation.formats.seed_json import load_seed_json
from tests.e2e.conftest import AppServer, wait_for_app
from tests.e2e.key_pace import FACES, press_at_pace, saved_labels, twenty_face_project, wait_saved

pytestmark = pytest.mark.e2e


def _open(page, server: AppServer, project: str, image: str) -> None:
    page.goto(f"{server.url}/?project={project}&image={image}")
    wait_for_app(page)
    expect(page.locator(".fg-cell")).to_have_count(FACES, timeout=60_000)


def test_keys_120_ms_apart_all_show_at_once_and_are_all_saved(app_server: AppServer, page) -> None:
    project, image, boxes = twenty_face_project(app_server.workspace, "pace")
    _open(page, app_server, project.name, image)
    keys = ["1", "2"] * (FACES // 2)
    result = press_at_pace(page, project, image, keys, gap_ms=120)
    print(result)
    # every key shows and every label is saved; how fast (p95 shown, saved after the last key) is
    # measured by benchmarks/annotate.py, not asserted here: a timed test fails on a busy machine
    assert result["saved"] == FACES, result
    assert None not in result["visible_ms"], result
    assert result["saved_after_last_key_s"] is not None, result
    # the grid and the saved file agree, box by box (by id)
    saved = load_seed_json(project.annotations_path).annotations.boxes(image)
    assert [b.id for b in saved] == [b.id for b in boxes]
    page.reload()
    wait_for_app(page)
    expect(page.locator(".fg-cell")).to_have_count(FACES, timeout=60_000)
    shown = page.locator(".fg-cell").evaluate_all("cs => cs.map(c => c.dataset.label)")
    assert shown == [b.label for b in saved]


def test_two_tabs_a_stale_delete_never_removes_another_box(app_server: AppServer, browser) -> None:
    project, image, boxes = twenty_face_project(app_server.workspace, "tabs", faces=8)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab_a, tab_b = ctx.new_page(), ctx.new_page()
        for tab in (tab_a, tab_b):
            tab.goto(f"{app_server.url}/?project={project.name}&image={image}")
            wait_for_app(tab)
            expect(tab.locator(".fg-cell")).to_have_count(8, timeout=60_000)
        # Tab A deletes #5.
        tab_a.bring_to_front()
        tab_a.locator(".fg-cell").nth(4).click()
        tab_a.keyboard.press("Delete")
        wait_saved(lambda: len(saved_labels(project, image)) == 7)
        # Tab B, not refreshed, still shows #5 and #6: it deletes #6, then labels #5.
        tab_b.bring_to_front()
        tab_b.locator(".fg-cell").nth(5).click()
        tab_b.keyboard.press("Delete")
        wait_saved(lambda: len(saved_labels(project, image)) == 6)
        left = [b.id for b in load_seed_json(project.annotations_path).annotations.boxes(image)]
        assert left == [b.id for i, b in enumerate(boxes) if i not in (4, 5)]
        # Tab A, not refreshed, still shows the box B deleted: its label on it is refused, said,
        # and reaches no other box.
        tab_a.bring_to_front()
        tab_a.locator(f".fg-cell[data-id='{boxes[5].id}']").click()
        tab_a.keyboard.press("1")
        expect(tab_a.get_by_text(re.compile(r"your label .* deleted elsewhere"))).to_be_visible(
            timeout=30_000
        )
        assert saved_labels(project, image) == ["None"] * 6
        # A label changed in tab A is not overwritten by tab B, which saw it as "None".
        tab_a.locator(f".fg-cell[data-id='{boxes[0].id}']").click()
        tab_a.keyboard.press("1")
        wait_saved(lambda: saved_labels(project, image)[0] == "with_mask")
        tab_b.bring_to_front()
        tab_b.locator(f".fg-cell[data-id='{boxes[0].id}']").click()
        tab_b.keyboard.press("2")
        expect(
            tab_b.get_by_text(re.compile(r"Box #1: your label .* labelled .with_mask. elsewhere"))
        ).to_be_visible(timeout=30_000)
        assert saved_labels(project, image) == ["with_mask"] + ["None"] * 5
    finally:
        ctx.close()
