"""The Annotate page's Review section in a real browser: the queue built, Enter / 1 / X pressed
at a person's pace on the first three faces, the answers saved in the chosen project (and only
there), and still shown after a reload."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.annotation.formats.seed_json import load_seed_json
from core.annotation.projects import Project
from core.review.queue import load_queue
from core.review.sources import Source
from tests.e2e.conftest import serving, wait_for_app
from tests.e2e.key_pace import twenty_face_project, wait_saved
from tests.tiny_models import confident_tiny_run

pytestmark = pytest.mark.e2e

FACES = 6
SHOT = Path("/tmp/rq_ui_shot.png")


def _digest(p: Project) -> str:
    return hashlib.sha256(p.annotations_path.read_bytes()).hexdigest()


def _saved(p: Project) -> list[tuple[str, str]]:
    ann = load_seed_json(p.annotations_path).annotations
    return sorted((img, b.label) for img in ann.images for b in ann.boxes(img))


def _choose_target(page, name: str) -> None:
    """Choose the project the labels go to (kept in the URL as ?to=...)."""
    for _ in range(5):
        wait_for_app(page)
        page.get_by_label("Labels go to project", exact=True).first.click()
        page.get_by_role("option", name=name, exact=True).first.click()
        try:
            page.wait_for_url(f"**to={name}*", timeout=10_000)
            wait_for_app(page)
            return
        except Exception:  # noqa: BLE001 - the page re-rendered under the click: try again
            continue
    raise AssertionError(f"could not choose {name!r}")


def test_enter_1_and_x_at_a_persons_pace_land_in_the_chosen_project_and_survive_a_reload(
    tmp_path: Path,
    page,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serving(tmp_path) as server:
        ws = server.workspace
        monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(ws))  # what this test writes goes there
        confident_tiny_run(ws)
        street, image, _ = twenty_face_project(ws, "street", faces=FACES)
        target = Project.create("labels", ws)
        with target.edit() as ann:
            ann.add_category("with_mask")
            ann.add_category("without_mask")
        street_before = _digest(street)

        page.goto(f"{server.url}/?project=street&section=review")
        wait_for_app(page)
        page.get_by_role("button", name="Build the queue").click()
        wait_for_app(page)
        _choose_target(page, "labels")
        cells = page.locator(".fg-cell")
        expect(cells).to_have_count(FACES, timeout=60_000)
        expect(page.locator(".fg-badge").first).not_to_have_text("")
        queue = load_queue(Source("project", "street"), ws)
        assert queue is not None and len(queue.entries) == FACES
        first = queue.entries[0]

        cells.first.click()
        for key in ("Enter", "1", "x"):  # a person's pace: a few hundred ms apart
            page.keyboard.press(key)
            page.wait_for_timeout(400)
        want = sorted([(image, first.guess), (image, "with_mask")])
        wait_saved(lambda: _saved(target) == want)
        wait_saved(
            lambda: (
                sum(e.review is not None for e in load_queue(Source("project", "street"), ws).entries) == 3
            )
        )
        assert _digest(street) == street_before  # the source project is not written
        shown = cells.evaluate_all("cs => cs.slice(0, 3).map(c => c.dataset.label)")
        assert shown == [first.guess, "with_mask", "not a face"]

        page.reload()
        wait_for_app(page)
        expect(page.locator(".fg-cell")).to_have_count(FACES, timeout=60_000)
        labels = page.locator(".fg-cell").evaluate_all("cs => cs.map(c => c.dataset.label)")
        assert labels[:3] == [first.guess, "with_mask", "not a face"]
        assert labels[3:] == ["", "", ""]
        assert _saved(target) == want
        assert page.get_by_test_id("stMetric").first.inner_text().endswith("3")
        page.screenshot(path=str(SHOT), full_page=True)
