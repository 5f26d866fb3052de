"""Zoom in a real browser: a box drawn at 4× on a 15 px face is saved in original pixels, and
the image's other boxes (inside and outside the zoomed region) are untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.annotation.canvas import CanvasView
from core.annotation.formats.seed_json import load_seed_json
from core.annotation.formats.voc import loads_voc
from core.annotation.projects import Project
from tests.e2e.conftest import AppServer, canvas_box, select_option, wait_for_app

pytestmark = pytest.mark.e2e

SCENE = "maksssksksss108.jpg"  # 400x225, five faces, two of them 15 px wide
FACE = (331, 66, 346, 81)  # the 15 px face left unboxed, to draw at 4×
NEIGHBOUR = (361, 67, 376, 82)  # the box the zoom is centred on


def test_a_box_drawn_at_4x_on_a_small_face_is_saved_in_original_pixels(
    app_server: AppServer,
    page,
    shared_data: Path,
) -> None:
    voc = shared_data / "face_mask_detection_voc"
    xml = (voc / "annotations" / SCENE.replace(".jpg", ".xml")).read_bytes()
    faces = loads_voc({SCENE.replace(".jpg", ".xml"): xml}, categories=["None"]).annotations
    project = Project.create("zoom", app_server.workspace)
    image = project.add_image(SCENE, (voc / "images" / SCENE).read_bytes())
    with project.edit() as ann:
        for category in faces.categories:
            if category not in ann.categories:
                ann.add_category(category)
        for box in faces.boxes(SCENE):
            if box.xyxy != FACE:
                ann.add_box(image, box)
    before = project.load().boxes(image)
    assert len(before) == 4 and NEIGHBOUR in [b.xyxy for b in before]
    number = [b.xyxy for b in before].index(NEIGHBOUR) + 1
    neighbour_label = before[number - 1].label

    page.goto(f"{app_server.url}/?project={project.name}&image={image}")
    wait_for_app(page)
    canvas_box(page)
    page.get_by_test_id("stMain").get_by_test_id("stButtonGroup").get_by_text("4×", exact=True).click()
    wait_for_app(page)
    select_option(page, "Centre on", f"box #{number} {neighbour_label}")
    view = CanvasView.zoomed(400, 225, 4, ((361 + 376) / 2, (67 + 82) / 2), 600, 650)
    x1, y1, x2, y2 = view.region
    expect(page.get_by_text(f"Showing x {x1}–{x2}, y {y1}–{y2} of 400×225 px").first).to_be_visible()
    select_option(page, "Category for new boxes", "with_mask")

    bb = canvas_box(page)
    assert bb["width"] == pytest.approx(view.display_w, abs=2)
    (left, top), (right, bottom) = view.to_display(FACE[0], FACE[1]), view.to_display(FACE[2], FACE[3])
    assert right - left >= 50  # 15 px shown 6 times larger
    page.mouse.move(bb["x"] + left, bb["y"] + top)
    page.mouse.down()
    page.mouse.move(bb["x"] + (left + right) / 2, bb["y"] + (top + bottom) / 2, steps=5)
    page.mouse.move(bb["x"] + right, bb["y"] + bottom, steps=5)
    page.mouse.up()
    expect(page.get_by_text("Boxes on this image: 5").first).to_be_visible(timeout=60_000)
    wait_for_app(page)

    after = load_seed_json(project.annotations_path).annotations.boxes(image)
    assert [(b.xyxy, b.label) for b in after[:4]] == [(b.xyxy, b.label) for b in before]
    drawn = after[4]
    assert drawn.label == "with_mask"
    assert all(abs(u - v) <= 1 for u, v in zip(drawn.xyxy, FACE, strict=True)), drawn.xyxy
