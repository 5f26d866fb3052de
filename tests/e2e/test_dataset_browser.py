"""The Datasets page in a real browser: build a dataset from an annotated project and see the
class counts, on the page and on disk; a reload keeps the dataset."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project
from tests.e2e.conftest import AppServer, select_option, wait_for_app

pytestmark = pytest.mark.e2e

PROJECT = "masks_e2e"
DATASET = f"{PROJECT}_crops"
WAIT_MS = 90_000  # generous: the machine may be busy; every wait ends as soon as the text shows
# image -> (size, boxes as (x1, y1, x2, y2, category)); "no mask" becomes the folder no_mask.
BOXES: dict[str, tuple[tuple[int, int], list[tuple[int, int, int, int, str]]]] = {
    "IMG_1.jpg": ((320, 240), [(10, 10, 90, 100, "mask"), (120, 20, 200, 110, "no mask"), (220, 30, 300, 120, NONE)]),
    "IMG_2.jpg": ((400, 300), [(0, 0, 60, 80, "mask"), (150, 150, 260, 290, "mask")]),
    "IMG_10.jpg": ((240, 320), [(40, 40, 120, 140, NONE)]),  # no labelled box: nothing cropped
}  # fmt: skip


def make_project(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The annotated project on disk in the app's workspace; returns the expected crops per folder."""
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(workspace))
    project = Project.create(PROJECT)
    rng = np.random.default_rng(0)
    for name, ((w, h), _) in BOXES.items():
        path = workspace / f"{name}.src.jpg"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path, "JPEG")
        project.add_image(name, path.read_bytes())
        path.unlink()
    with project.edit() as ann:
        ann.add_category("mask")
        ann.add_category("no mask")
        for name, (size, boxes) in BOXES.items():
            for x1, y1, x2, y2, label in boxes:
                ann.add_box(name, Box(x1, y1, x2, y2, label), image_size=size)
    return Counter(
        label.replace(" ", "_") for _, boxes in BOXES.values() for *_, label in boxes if label != NONE
    )


def test_build_a_dataset_from_a_project_and_see_the_class_counts(
    app_server: AppServer,
    page,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = make_project(app_server.workspace, monkeypatch)
    assert expected == {"mask": 3, "no_mask": 1}

    page.goto(f"{app_server.url}/dataset")
    expect(page.get_by_role("heading", name="Datasets")).to_be_visible(timeout=WAIT_MS)
    wait_for_app(page)
    select_option(page, "Annotation project", PROJECT)
    # What the project holds, before anything is built.
    expect(page.get_by_text("4 labelled box(es) on 2 image(s) (mask: 3, no mask: 1)")).to_be_visible(
        timeout=WAIT_MS
    )
    expect(page.get_by_role("spinbutton", name="Crop size (px)").filter(visible=True)).to_have_value(
        "240", timeout=WAIT_MS
    )
    expect(page.get_by_role("textbox", name="New dataset name").filter(visible=True)).to_have_value(
        DATASET, timeout=WAIT_MS
    )

    page.get_by_role("button", name="Crop boxes").click()
    expect(page.get_by_text(f"Cropped into {DATASET}: 4 new file(s) (mask: 3, no_mask: 1).")).to_be_visible(
        timeout=WAIT_MS
    )
    wait_for_app(page)
    summary = page.get_by_text(re.compile(r"4 images · mask: 3 · no_mask: 1 · not split yet"))
    expect(summary).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("combobox", name="Dataset", exact=True)).to_have_value(
        f"{DATASET} · not split yet", timeout=WAIT_MS
    )

    # The files on disk: one 240 x 240 PNG per labelled box, in its class folder.
    root = app_server.workspace / "datasets" / DATASET
    on_disk = Counter(p.parent.name for p in root.glob("*/*.png"))
    assert on_disk == expected
    assert sorted(p.name for p in (root / "mask").iterdir()) == ["IMG_1_1.png", "IMG_2_1.png", "IMG_2_2.png"]
    assert [p.name for p in (root / "no_mask").iterdir()] == ["IMG_1_2.png"]
    for p in root.glob("*/*.png"):
        with Image.open(p) as img:
            assert img.size == (240, 240)

    # A reload comes back to the same dataset, with the same counts.
    expect(page).to_have_url(re.compile(f"dataset={DATASET}"), timeout=WAIT_MS)
    page.reload()
    expect(page.get_by_role("heading", name="Datasets")).to_be_visible(timeout=WAIT_MS)
    expect(summary).to_be_visible(timeout=WAIT_MS)
