"""Safe import defaults and undo in a real browser (issue 18): the Pascal VOC import with its
defaults leaves another image's hand-drawn box untouched, and Undo restores the replaced image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.annotation.annotations import Box
from core.annotation.formats.archive import zip_files
from core.annotation.projects import Project
from tests.e2e.conftest import AppServer, canvas_box, open_section, select_option, upload_files, wait_for_app
from tests.images import image_bytes

pytestmark = pytest.mark.e2e

VOC = ("maksssksksss105", "maksssksksss108")  # 9 + 5 faces
BEFORE = [10, 10, 60, 60]  # the box maksssksksss105 holds before the import


def saved(project: Project) -> dict:
    return json.loads(project.annotations_path.read_text())["images"]


def test_voc_import_defaults_keep_a_hand_drawn_box_and_undo_restores(
    app_server: AppServer,
    page,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    voc = shared_data / "face_mask_detection_voc"
    project = Project.create("voc undo", app_server.workspace)
    hand = project.add_image("hand.png", image_bytes((800, 600), (90, 90, 90)))
    for stem in VOC:
        project.add_image(f"{stem}.jpg", (voc / "images" / f"{stem}.jpg").read_bytes())
    with project.edit() as ann:
        ann.add_category("with_mask")
        ann.add_category("without_mask")
        ann.add_box(f"{VOC[0]}.jpg", Box(*BEFORE, "with_mask"))

    # A box drawn by hand on another image.
    page.goto(f"{app_server.url}/?project={project.name}&image={hand}")
    wait_for_app(page)
    select_option(page, "Category for new boxes", "with_mask")
    bb = canvas_box(page)
    page.mouse.move(bb["x"] + 100, bb["y"] + 80)
    page.mouse.down()
    page.mouse.move(bb["x"] + 180, bb["y"] + 160, steps=5)
    page.mouse.move(bb["x"] + 260, bb["y"] + 240, steps=5)
    page.mouse.up()
    page.get_by_text("Boxes on this image: 1").wait_for(timeout=30_000)
    wait_for_app(page)
    drawn = saved(project)[hand]
    assert len(drawn["rectangles"]) == 1

    # The VOC import with every default.
    open_section(page, "Import / export")
    select_option(page, "Format", "Pascal VOC (zip of XML)")
    archive = tmp_path / "voc.zip"
    archive.write_bytes(zip_files({f"{s}.xml": (voc / "annotations" / f"{s}.xml").read_bytes() for s in VOC}))
    upload_files(page, "stMain", str(archive), "voc.zip")
    expect(page.get_by_role("radio", name="Replace only the imported images")).to_be_checked()
    page.locator(".st-key-import_go button").click()
    expect(page.get_by_text("Other images kept their boxes", exact=False)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    after = saved(project)
    assert after[hand] == drawn  # untouched
    assert len(after[f"{VOC[0]}.jpg"]["rectangles"]) == 9
    assert BEFORE not in after[f"{VOC[0]}.jpg"]["rectangles"]
    assert len(after[f"{VOC[1]}.jpg"]["rectangles"]) == 5

    # Undo restores the replaced image (and keeps the hand-drawn box).
    page.get_by_role("button", name="Undo", exact=True).click()
    expect(page.get_by_text("Undone: import VOC", exact=False)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    undone = saved(project)
    assert undone[f"{VOC[0]}.jpg"]["rectangles"] == [BEFORE]
    assert f"{VOC[1]}.jpg" not in undone or undone[f"{VOC[1]}.jpg"]["rectangles"] == []
    assert undone[hand] == drawn
