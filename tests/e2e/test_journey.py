"""A newcomer's whole journey in one browser session (issue 12's target): create a project,
upload three scenes, pre-annotate, label with the keyboard, import VOC, build, split, train
LeNet for one epoch, compare, make it active, predict a new scene and send it to the annotator.

Checked all along: no box is lost (the saved boxes equal the imported file's), every message
is still on screen 2 s after its action, no section jumps back after an action, never two
canvases, and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.annotation.formats.seed_json import load_seed_json
from core.annotation.formats.voc import loads_voc
from core.runs.store import list_runs
from tests.e2e.conftest import (
    AppServer,
    canvas_box,
    canvas_counts,
    create_project,
    open_section,
    section_is,
    select_option,
    serving,
    upload_files,
    wait_for_app,
)
from tests.e2e.test_offline_browser import off_loopback

pytestmark = pytest.mark.e2e

SCENES = ["maksssksksss19.jpg", "maksssksksss389.jpg", "maksssksksss732.jpg"]  # with and without masks
NEW_SCENE = "maksssksksss261.jpg"  # never trained on: for Predict
WAIT_MS = 240_000  # the training worker imports TensorFlow; every wait ends as soon as it can


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app on its own empty workspace: a newcomer's first start."""
    with serving(tmp_path_factory.mktemp("journey")) as server:
        yield server


def stays(pg, text: str | re.Pattern[str], seconds: float = 2.0) -> None:
    """The message shows, and is still there `seconds` later (through the reruns that follow)."""
    loc = pg.get_by_text(text).first
    expect(loc).to_be_visible(timeout=WAIT_MS)
    pg.wait_for_timeout(int(seconds * 1000))
    expect(loc).to_be_visible()


def test_a_newcomers_journey(fresh_server: AppServer, browser, shared_data: Path, tmp_path: Path) -> None:
    voc = shared_data / "face_mask_detection_voc"
    ws = fresh_server.workspace
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    started = time.monotonic()
    try:
        # First start: the guide shows both paths.
        page.goto(fresh_server.url)
        wait_for_app(page)
        expect(page.get_by_text("Annotate your own scenes")).to_be_visible()
        expect(page.get_by_text("Start from a folder dataset")).to_be_visible()

        # 1. A project, with the preset categories.
        create_project(page, "journey", "journey")
        stays(page, "Created project journey.")
        ann = load_seed_json(ws / "projects" / "journey" / "annotations.json").annotations
        assert ann.categories == ["None", "with_mask", "without_mask", "mask_worn_incorrectly"]

        # 2. Three scenes at once: the annotator opens the first of them.
        page.get_by_test_id("stSidebar").locator("input[type=file]").last.set_input_files(
            [str(voc / "images" / s) for s in reversed(SCENES)]
        )
        canvas_box(page)
        wait_for_app(page)
        expect(page.get_by_role("combobox", name="Image", exact=True)).to_have_value(
            re.compile(r"^1/3 · maksssksksss19\.jpg")
        )

        # 3. Pre-annotate every image.
        page.get_by_text("Pre-annotate faces").first.click()
        wait_for_app(page)
        expect(page.get_by_role("button", name="All images").first).to_be_visible()
        page.get_by_role("button", name="All images").first.click()
        stays(page, re.compile(r"^Pre-annotation added \d+ face box"))
        wait_for_app(page)

        # 4. Label with the keyboard: 1 = with_mask, on the selected box, then the next "None".
        boxes = load_seed_json(ws / "projects" / "journey" / "annotations.json").annotations.boxes(SCENES[0])
        assert boxes, "pre-annotation found no face on the first scene"
        if boxes:
            page.get_by_role("heading", name="Annotate").click()  # focus on the page, not a field
            page.keyboard.press("1")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                labelled = load_seed_json(ws / "projects" / "journey" / "annotations.json").annotations
                if labelled.boxes(SCENES[0])[0].label == "with_mask":
                    break
                page.wait_for_timeout(300)
            assert labelled.boxes(SCENES[0])[0].label == "with_mask"
            wait_for_app(page)

        # 5. Import the scenes' VOC files while an image is open: every box equals the file's.
        archive = tmp_path / "voc.zip"
        xml = {
            s.replace(".jpg", ".xml"): (voc / "annotations" / s.replace(".jpg", ".xml")).read_bytes()
            for s in SCENES
        }
        with zipfile.ZipFile(archive, "w") as zf:
            for name, data in xml.items():
                zf.writestr(name, data)
        open_section(page, "Import / export")
        select_option(page, "Format", "Pascal VOC (zip of XML)")
        upload_files(page, "stMain", str(archive), archive.name)
        page.get_by_role("button", name="Import", exact=True).click()
        expected = loads_voc(xml, categories=ann.categories).annotations
        total = sum(len(expected.boxes(s)) for s in SCENES)
        stays(page, re.compile(rf"^Imported {total} boxes on 3 images[.,]"))  # ", dropped: ..." may follow
        section_is(page, "Import / export")
        open_section(page, "Boxes")
        canvas_box(page)
        assert max(canvas_counts(page, 3.0)) == 1
        saved = load_seed_json(ws / "projects" / "journey" / "annotations.json").annotations
        for s in SCENES:
            assert sorted((b.xyxy, b.label) for b in saved.boxes(s)) == sorted(
                (b.xyxy, b.label) for b in expected.boxes(s)
            )

        # 6. Build a crop dataset from the project, then split it.
        page.goto(f"{fresh_server.url}/dataset")
        wait_for_app(page)
        select_option(page, "Annotation project", "journey")
        page.get_by_role("button", name="Crop boxes").click()
        stays(page, re.compile(r"^Cropped into journey_crops: \d+ new file"))
        open_section(page, "Split")
        wait_for_app(page)
        page.get_by_role("button", name="Make split").click()
        stays(page, re.compile(r"^Dataset version [0-9a-f]{12} saved"))

        # 7. Train LeNet for one epoch.
        page.goto(f"{fresh_server.url}/experiments")
        wait_for_app(page)
        models = page.get_by_label("Models").filter(visible=True).first
        models.click()
        page.keyboard.press("Backspace")
        page.keyboard.press("Escape")
        wait_for_app(page)
        select_option(page, "Models", "LeNet-like CNN")
        select_option(page, "Epochs", "1")
        select_option(page, "Image size (px)", "100")
        page.get_by_role("button", name="Start 1 run(s)").click()
        stays(page, "Queued 1 run(s)")
        section_is(page, "Launch")
        open_section(page, "Queue")
        expect(page.get_by_text(re.compile(r"^Finished: .* · done")).first).to_be_visible(timeout=WAIT_MS)
        (record,) = list_runs(ws)
        assert record.state == "done", record.status.get("error")

        # 8. Compare, and make the run the active model.
        page.get_by_role("button", name="Open in Compare").first.click()
        wait_for_app(page)
        section_is(page, "Compare")
        page.get_by_role("button", name="Make active model").click()
        stays(page, re.compile(r"is now the active model"))
        section_is(page, "Compare")

        # 9. Predict a new scene, then send it to the annotator (a new, dated project).
        page.goto(f"{fresh_server.url}/predict")
        wait_for_app(page)
        expect(page.get_by_text(f"run {record.run_id}").first).to_be_visible(timeout=WAIT_MS)
        page.get_by_test_id("stMain").locator("input[type=file]").first.set_input_files(
            str(voc / "images" / NEW_SCENE)
        )
        expect(page.get_by_role("button", name="Send to annotator").first).to_be_visible(timeout=WAIT_MS)
        wait_for_app(page)
        page.get_by_role("button", name="Send to annotator").first.click()
        target = f"predictions-{date.today().isoformat()}"
        page.wait_for_url(re.compile(rf".*project={target}.*"), timeout=WAIT_MS)
        stays(page, re.compile(rf"^Sent {NEW_SCENE} to project {target}"))
        assert max(canvas_counts(page, 3.0)) <= 1
        canvas_box(page)
        assert (ws / "projects" / target / "images" / NEW_SCENE).is_file()
        # The ground truth is untouched by the predictions.
        again = load_seed_json(ws / "projects" / "journey" / "annotations.json").annotations
        assert sorted(again.images) == sorted(SCENES)
    finally:
        context.close()
    print(f"journey: {time.monotonic() - started:.0f} s")
    assert off_loopback(requested) == []
