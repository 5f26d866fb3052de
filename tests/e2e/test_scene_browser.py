"""The Scene test tab in a real browser: a tiny run scored on two real VOC scenes, the chart and
table shown, then a photo with errors opened in the annotator through a review project."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.annotation.formats.voc import parse_voc_xml
from core.annotation.projects import Project
from tests.e2e.conftest import AppServer, canvas_box, open_section, wait_for_app
from tests.tiny_models import confident_tiny_run

pytestmark = pytest.mark.e2e

PHOTOS = ("maksssksksss114", "maksssksksss276")  # 2 faces each


def test_score_a_run_on_voc_scenes_and_open_a_photo_in_the_annotator(
    app_server: AppServer,
    page,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    src = shared_data / "face_mask_detection_voc"
    voc = tmp_path / "voc"
    voc.mkdir()
    for stem in PHOTOS:
        shutil.copy(src / "annotations" / f"{stem}.xml", voc)
        shutil.copy(src / "images" / f"{stem}.jpg", voc)
    before = sorted(p.name for p in voc.iterdir())
    run_id = confident_tiny_run(app_server.workspace)

    page.goto(f"{app_server.url}/experiments")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible(timeout=60_000)
    wait_for_app(page)
    open_section(page, "Scene test")
    page.get_by_text("A Pascal VOC folder", exact=True).click()
    wait_for_app(page)
    field = page.get_by_label(re.compile(r"^VOC folder")).filter(visible=True).first
    field.fill(str(voc))
    field.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("2 photos, 4 labelled faces", exact=False).first).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMultiSelect").filter(visible=True).first).to_contain_text(run_id)

    page.get_by_role("button", name="Run the scene test").click()
    expect(page.get_by_role("heading", name="Scene test results")).to_be_visible(timeout=180_000)
    wait_for_app(page)
    chart = page.locator(".js-plotly-plot").filter(visible=True)
    expect(chart.first).to_be_visible(timeout=60_000)
    expect(chart.first.locator(".legendtext").first).to_contain_text(run_id)
    expect(page.get_by_role("button", name="Download the report (JSON)")).to_be_visible()

    # The confident tiny model gets some faces wrong: the worst photo opens in a review project.
    opener = page.get_by_role("button", name="Open in the annotator").filter(visible=True).first
    expect(opener).to_be_visible(timeout=60_000)
    opener.click()
    review = f"scene-review-{date.today().isoformat()}"
    page.wait_for_url(re.compile(rf".*\?.*project={review}.*"), timeout=120_000)
    wait_for_app(page)
    canvas_box(page)
    image = Project.open(review, app_server.workspace).list_images()[0]
    _, _, truths = parse_voc_xml((voc / f"{Path(image).stem}.xml").read_bytes(), file="x.xml")
    boxes = page.get_by_text(f"Boxes on this image: {len(truths)}").filter(visible=True).first
    expect(boxes).to_be_visible(timeout=60_000)
    assert sorted(p.name for p in voc.iterdir()) == before  # the VOC folder was only read
