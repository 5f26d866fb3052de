"""The annotator in a real browser: upload, draw, categorise, reload, and check the saved JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from core.annotation.projects import Project
from tests.e2e.conftest import (
    AppServer,
    canvas_box,
    create_project,
    open_section,
    select_option,
    upload_to_sidebar,
    wait_for_app,
)
from tests.images import image_bytes

pytestmark = pytest.mark.e2e

IMAGE_W, IMAGE_H = 1600, 1200  # shown at 600/1600 = 0.375


def make_photo(path: Path) -> Path:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (IMAGE_H, IMAGE_W, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, quality=85)
    return path


def _project_with_image(
    workspace: Path,
    name: str,
    size: tuple[int, int] = (400, 300),
    grey: int = 90,
    filename: str = "scene.png",
) -> tuple[Project, str]:
    """Project `name` holding one plain grey PNG of `size` (width, height); the project and the
    image's stored name."""
    project = Project.create(name, workspace)
    return project, project.add_image(filename, image_bytes(size, (grey, grey, grey)))


def test_draw_categorise_reload_and_saved_json(app_server: AppServer, page, tmp_path: Path) -> None:
    page.goto(app_server.url)
    wait_for_app(page)

    create_project(page, "browser test", "browser_test", categories="")

    open_section(page, "Categories")
    for name in ("mask", "no_mask"):
        page.get_by_label("New category").filter(visible=True).fill(name)
        page.get_by_role("button", name="Add category").filter(visible=True).click()
        expect(page.get_by_text(f"Added category {name}.")).to_be_visible(timeout=60_000)
        wait_for_app(page)
    open_section(page, "Boxes")

    upload_to_sidebar(page, str(make_photo(tmp_path / "IMG_0001.jpg")))
    select_option(page, "Category for new boxes", "mask")
    bb = canvas_box(page)
    assert bb["width"] == pytest.approx(600, abs=2)
    scale = bb["width"] / IMAGE_W
    start, end = (90, 60), (360, 330)  # canvas pixels
    page.mouse.move(bb["x"] + start[0], bb["y"] + start[1])
    page.mouse.down()
    page.mouse.move(bb["x"] + (start[0] + end[0]) / 2, bb["y"] + (start[1] + end[1]) / 2, steps=5)
    page.mouse.move(bb["x"] + end[0], bb["y"] + end[1], steps=5)
    page.mouse.up()
    page.get_by_text("Boxes on this image: 1").wait_for(timeout=30_000)
    wait_for_app(page)

    saved = app_server.workspace / "projects" / "browser_test" / "annotations.json"
    data = json.loads(saved.read_text())
    assert data["categories"] == ["None", "mask", "no_mask"]
    rects = data["images"]["IMG_0001.jpg"]["rectangles"]
    assert len(rects) == 1
    expected = [start[0] / scale, start[1] / scale, end[0] / scale, end[1] / scale]
    tolerance = 3 / scale  # a couple of CSS pixels of stroke and pointer rounding
    assert rects[0] == pytest.approx(expected, abs=tolerance)
    assert data["images"]["IMG_0001.jpg"]["rect_to_category"] == [1]

    # Relabel through the box list, then reload the browser: nothing is lost.
    select_option(page, re.compile(r"^#1 \["), "no_mask")
    page.reload()
    wait_for_app(page)
    page.get_by_text("Boxes on this image: 1").wait_for(timeout=30_000)
    canvas_box(page)
    data = json.loads(saved.read_text())
    assert data["images"]["IMG_0001.jpg"]["rect_to_category"] == [2]
    assert data["images"]["IMG_0001.jpg"]["rectangles"][0] == rects[0]
    assert page.get_by_text("1 of 1").is_visible()


def test_refused_box_is_explained(app_server: AppServer, page, tmp_path: Path) -> None:
    page.goto(app_server.url)
    wait_for_app(page)
    create_project(page, "refusals", "refusals")
    upload_to_sidebar(page, str(make_photo(tmp_path / "a.jpg")))
    bb = canvas_box(page)
    page.mouse.move(bb["x"] + 50, bb["y"] + 50)
    page.mouse.down()
    page.mouse.move(bb["x"] + 51, bb["y"] + 120, steps=5)
    page.mouse.up()
    page.get_by_text(re.compile("a side of 5 px or less")).wait_for(timeout=30_000)
    data = json.loads((app_server.workspace / "projects" / "refusals" / "annotations.json").read_text())
    assert data["images"].get("a.jpg", {"rectangles": []})["rectangles"] == []


def test_a_new_project_opens_while_another_with_boxes_is_shown(app_server: AppServer, page) -> None:
    """Opened from a link to a project with boxed faces (as Predict's "send to the annotator"
    does), creating another project opens the new one and stays there."""
    from core.annotation.annotations import Box

    shown, image = _project_with_image(app_server.workspace, "zz shown")
    with shown.edit() as ann:
        ann.add_category("with_mask")
        for k in range(6):
            ann.add_box(image, Box(20 + 60 * k, 40, 70 + 60 * k, 100, "with_mask"))
    page.goto(f"{app_server.url}/?project={shown.name}&image={image}")
    wait_for_app(page)
    canvas_box(page)
    create_project(page, "zz fresh", "zz_fresh")
    page.wait_for_timeout(2000)  # the reruns the canvas and the URL cause
    wait_for_app(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_label("Open project")).to_have_value("zz_fresh")
    expect(page).to_have_url(re.compile(r"project=zz_fresh"))
    expect(page.get_by_text("This project has no images yet", exact=False).first).to_be_visible()


def test_a_flagged_box_is_shown_with_its_rule_and_survives_the_canvas(app_server: AppServer, page) -> None:
    """A box kept on import although it breaks the overlap rule loads into the canvas (dashed),
    the box list names the rule, and the canvas's own reruns neither drop nor unflag it."""
    from core.annotation.annotations import Box

    project, image = _project_with_image(app_server.workspace, "flagged")
    with project.edit() as ann:
        ann.add_category("car")
        ann.add_box(image, Box(20, 20, 220, 200, "car"))
        assert ann.add_box_or_flag(image, Box(40, 150, 90, 190, "car")).flag == "overlap"  # a wheel
    page.goto(f"{app_server.url}/?project={project.name}&image={image}")
    wait_for_app(page)
    canvas_box(page)
    page.get_by_text("Boxes on this image: 2").wait_for(timeout=30_000)
    expect(page.get_by_text(re.compile("breaks a rule: overlaps another box")).first).to_be_visible()
    page.wait_for_timeout(2000)  # the canvas reports its drawing back
    wait_for_app(page)
    data = json.loads(project.annotations_path.read_text())
    assert data["images"][image]["rect_flags"] == [None, "overlap"]
    assert len(data["images"][image]["rectangles"]) == 2


@pytest.mark.parametrize(("width", "height"), [(1400, 1000), (1280, 800)])
def test_the_canvas_fits_its_column(app_server: AppServer, browser, width: int, height: int) -> None:
    """Issue 12: about 24 px of the image and its labels were hidden under the right column."""
    name = f"fit_{width}"
    _, image = _project_with_image(app_server.workspace, name, (400, 267), 120, "wide.png")  # enlarged to fit
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    try:
        pg.goto(f"{app_server.url}/?project={name}&image={image}")
        wait_for_app(pg)
        bb = canvas_box(pg)
        columns = pg.get_by_test_id("stColumn").filter(has=pg.locator("canvas.upper-canvas"))
        column = columns.last.bounding_box()
        assert column is not None
        assert bb["x"] >= column["x"] - 1 and bb["x"] + bb["width"] <= column["x"] + column["width"] + 1, (
            bb,
            column,
        )
        side = pg.get_by_text("Category for new boxes").first.bounding_box()
        assert side is not None and side["x"] >= bb["x"] + bb["width"], (bb, side)
        # On hover the canvas toolbar shows above the image: it must not cover Next or the counter.
        pg.mouse.move(bb["x"] + bb["width"] / 2, bb["y"] + 20)
        tool = pg.get_by_role("button", name="Edit").first
        expect(tool).to_be_visible()
        t = tool.evaluate(  # the whole toolbar: the first ancestor holding several buttons
            """e => { let p = e.parentElement;
                while (p && p.querySelectorAll('button').length < 3) p = p.parentElement;
                const r = p.getBoundingClientRect();
                return {x: r.x, y: r.y, width: r.width, height: r.height}; }"""
        )
        for control in (
            pg.get_by_role("button", name="Next").first,
            pg.get_by_text("images annotated").first,
        ):
            c = control.bounding_box()
            assert t is not None and c is not None
            apart = t["y"] >= c["y"] + c["height"] or c["y"] >= t["y"] + t["height"]
            apart = apart or t["x"] >= c["x"] + c["width"] or c["x"] >= t["x"] + t["width"]
            assert apart, (t, c)
    finally:
        context.close()
