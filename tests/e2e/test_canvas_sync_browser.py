"""The canvas never writes stale boxes back: changes made outside it (an import) remount it
from the saved file, so every saved box equals the imported file's (issue 12, "never lose a box")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.annotation.annotations import Box
from core.annotation.formats.seed_json import load_seed_json
from core.annotation.formats.voc import loads_voc
from core.annotation.projects import Project
from tests.e2e.conftest import (
    AppServer,
    canvas_box,
    canvas_counts,
    open_section,
    select_option,
    upload_files,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

SCENE = "maksssksksss105.jpg"  # 9 annotated faces, 400x267


def test_import_voc_while_an_image_is_open_keeps_every_box(
    app_server: AppServer,
    page,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    voc = shared_data / "face_mask_detection_voc"
    xml = (voc / "annotations" / SCENE.replace(".jpg", ".xml")).read_bytes()
    project = Project.create("voc while open", app_server.workspace)
    image = project.add_image(SCENE, (voc / "images" / SCENE).read_bytes())
    with project.edit() as ann:  # hand-made boxes the import replaces: two "None", one labelled
        ann.add_category("with_mask")
        ann.add_box(image, Box(10, 10, 40, 50))
        ann.add_box(image, Box(60, 10, 95, 50))
        ann.add_box(image, Box(330, 200, 380, 250, "with_mask"))
    page.goto(f"{app_server.url}/?project={project.name}&image={image}")
    wait_for_app(page)
    canvas_box(page)
    expect(page.get_by_text("Boxes on this image: 3").first).to_be_visible()
    page.wait_for_timeout(1500)  # the canvas has reported its drawing (the old boxes)
    wait_for_app(page)

    archive = tmp_path / "voc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(SCENE.replace(".jpg", ".xml"), xml)
    open_section(page, "Import / export")
    select_option(page, "Format", "Pascal VOC (zip of XML)")
    upload_files(page, "stMain", str(archive), archive.name)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported 9 boxes on 1 images.").first).to_be_visible(timeout=60_000)
    # Back to the boxes: the canvas shows the imported boxes and writes nothing stale back.
    open_section(page, "Boxes")
    expect(page.get_by_text("Boxes on this image: 9").first).to_be_visible(timeout=60_000)
    canvas_box(page)
    counts = canvas_counts(page, 3.0)  # time for a stale canvas to send its old drawing
    assert max(counts) == 1, counts  # never a stale canvas left mounted beside the new one
    wait_for_app(page)

    expected = loads_voc({SCENE.replace(".jpg", ".xml"): xml}, categories=["None", "with_mask"]).annotations
    saved = load_seed_json(project.annotations_path).annotations
    want = sorted((b.xyxy, b.label) for b in expected.boxes(SCENE))
    got = sorted((b.xyxy, b.label) for b in saved.boxes(image))
    assert got == want
    expect(page.get_by_text("keeps its old place")).to_have_count(0)
    expect(page.get_by_text("was not applied")).to_have_count(0)  # nothing was drawn: nothing to say


def test_a_box_drawn_on_boxes_changed_elsewhere_is_dropped_and_said(
    app_server: AppServer,
    page,
    shared_data: Path,
) -> None:
    """Another tab changed the boxes while this one showed the old ones: a box drawn here was
    drawn on boxes that no longer exist, so it is not applied, and the page says so."""
    voc = shared_data / "face_mask_detection_voc"
    project = Project.create("two tabs", app_server.workspace)
    image = project.add_image(SCENE, (voc / "images" / SCENE).read_bytes())
    with project.edit() as ann:
        ann.add_box(image, Box(10, 10, 40, 50))
    page.goto(f"{app_server.url}/?project={project.name}&image={image}")
    wait_for_app(page)
    bb = canvas_box(page)
    wait_for_app(page)
    with project.edit() as ann:  # the other tab: a box elsewhere
        ann.add_box(image, Box(300, 200, 350, 250))
    page.mouse.move(bb["x"] + 200, bb["y"] + 150)
    page.mouse.down()
    page.mouse.move(bb["x"] + 240, bb["y"] + 190, steps=5)
    page.mouse.move(bb["x"] + 280, bb["y"] + 230, steps=5)
    page.mouse.up()
    expect(page.get_by_text("was not applied").first).to_be_visible(timeout=60_000)
    wait_for_app(page)
    saved = load_seed_json(project.annotations_path).annotations
    assert [b.xyxy for b in saved.boxes(image)] == [(10, 10, 40, 50), (300, 200, 350, 250)]
    expect(page.get_by_text("Boxes on this image: 2").first).to_be_visible()
