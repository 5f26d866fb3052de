"""AppTest of the Annotate page's safe import defaults, Undo / Redo, the version list and the
deleted projects (issue 18)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.annotation.annotations import Annotations, Box
from core.annotation.formats.seed_json import dumps_seed_json
from core.annotation.projects import Project
from tests.images import image_bytes
from tests.pages.conftest import open_page, open_section, run

HAND = Box(100, 100, 300, 300, "mask")  # drawn by hand on IMG_1
OLD = Box(500, 500, 700, 700, "mask")  # on IMG_2 before the import


@pytest.fixture
def project(workspace):
    p = Project.create("demo")
    for name in ("IMG_1.png", "IMG_2.png"):
        p.add_image(name, image_bytes((1600, 1200), (200, 180, 160)))
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_box("IMG_1.png", HAND)
        ann.add_box("IMG_2.png", OLD)
    return p


def seed_file() -> bytes:
    """A seed JSON with two boxes on IMG_2 only."""
    ann = Annotations(["mask"])
    ann.add_box("IMG_2.png", Box(10, 10, 110, 110, "mask"))
    ann.add_box("IMG_2.png", Box(200, 10, 300, 110, "mask"))
    return dumps_seed_json(ann)


def import_section() -> AppTest:
    at = open_page("annotate.py")
    at.query_params["project"] = "demo"
    run(at)
    open_section(at, "Import / export")
    at.file_uploader(key="ann_upload_seed").set_value(("seed.json", seed_file(), "application/json"))
    return run(at)


def test_the_default_import_leaves_other_images_alone_and_undo_takes_it_back(project: Project) -> None:
    at = import_section()
    assert at.radio(key="import_mode").value == "only"  # the default
    at.button(key="import_go").click()
    run(at)
    saved = project.load()
    assert saved.boxes("IMG_1.png") == [HAND]
    assert [b.xyxy for b in saved.boxes("IMG_2.png")] == [(10, 10, 110, 110), (200, 10, 300, 110)]
    assert any("Other images kept their boxes" in s.value for s in at.success)
    assert project.versions()[-1].summary == "import seed JSON: 2 boxes on 1 images"
    at.button(key="history_undo").click()
    run(at)
    saved = project.load()
    assert saved.boxes("IMG_2.png") == [OLD] and saved.boxes("IMG_1.png") == [HAND]
    assert any("Undone: import seed JSON" in s.value for s in at.success)
    at.button(key="history_redo").click()
    run(at)
    assert len(project.load().boxes("IMG_2.png")) == 2


def test_replace_everything_asks_first_and_says_what_goes(project: Project) -> None:
    at = import_section()
    at.radio(key="import_mode").set_value("all")
    run(at)
    at.button(key="import_go").click()
    run(at)
    assert project.load().boxes("IMG_1.png") == [HAND]  # nothing yet
    warning = " ".join(w.value for w in at.warning)
    assert "1 box(es) on 1 other image(s) will be deleted" in warning
    at.button(key="import_cancel_all").click()
    run(at)
    assert project.load().boxes("IMG_1.png") == [HAND]
    at.button(key="import_go").click()
    run(at)
    at.button(key="import_confirm_all").click()
    run(at)
    assert project.load().boxes("IMG_1.png") == []
    assert len(project.load().boxes("IMG_2.png")) == 2


def test_restore_an_older_version_from_the_list(project: Project) -> None:
    with project.edit() as ann:
        ann.delete_box("IMG_1.png", 0)
    with project.edit() as ann:
        ann.delete_box("IMG_2.png", 0)
    at = open_page("annotate.py")
    at.query_params["project"] = "demo"
    run(at)
    oldest_boxes = next(v for v in project.versions() if v.summary.startswith("category mask added"))
    at.selectbox(key="history_pick-demo").set_value(oldest_boxes.seq)
    run(at)
    at.button(key="history_restore").click()
    run(at)
    saved = project.load()
    assert saved.boxes("IMG_1.png") == [HAND] and saved.boxes("IMG_2.png") == [OLD]


def test_a_deleted_project_is_restored_from_the_sidebar(project: Project) -> None:
    at = open_page("annotate.py")
    at.query_params["project"] = "demo"
    run(at)
    at.text_input(key="confirm_project_name-demo").input("demo")
    run(at)
    at.button(key="confirm_delete_project").click()
    run(at)
    assert not project.root.exists()
    restore = next(b for b in at.sidebar.button if b.key and b.key.startswith("trash_restore-"))
    restore.click()
    run(at)
    assert project.root.is_dir()
    assert project.load().boxes("IMG_1.png") == [HAND]
    assert at.sidebar.selectbox(key="project_pick").value == "demo"
