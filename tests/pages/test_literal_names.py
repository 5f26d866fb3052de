"""Names from users and files are text, never markup (issue 18): a category, project, image or
file named like Markdown shows as typed on buttons, in messages and in errors; and every upload
error names its file."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from core.annotation.annotations import Box
from core.annotation.projects import Project
from tests.images import image_bytes
from tests.pages.conftest import open_page, open_section, run

pytestmark = pytest.mark.slow

HOSTILE = "![t](http://203.0.113.7/t.png)"
HOSTILE_IMAGE = "**bold** :material/bolt: <b>x</b>.png"


@pytest.fixture
def project(workspace: Path) -> Project:
    p = Project.create("names")
    stored = p.add_image(HOSTILE_IMAGE, image_bytes((400, 300), (200, 180, 160)))
    with p.edit() as ann:
        ann.add_category(HOSTILE)
        ann.add_box(stored, Box(40, 40, 140, 160, HOSTILE))
    return p


def annotate(project: Project) -> AppTest:
    at = open_page("annotate.py")
    at.query_params["project"] = project.name
    return at


def test_hostile_category_and_image_names_are_never_markdown_on_annotate(project: Project) -> None:
    at = run(annotate(project))
    shown = [
        *(
            e.value
            for kind in ("markdown", "caption", "success", "info", "warning", "error")
            for e in getattr(at, kind)
        ),
        *(b.label for b in at.button),
        *(e.label for e in at.expander),
    ]
    assert not [t for t in shown if "](" in t or "<b>" in t], shown  # no raw link, image or tag
    (stored,) = project.list_images()
    assert any(literal(stored) in c.value for c in at.caption)  # the image's name, escaped
    # The category lists read the name as it is (selects show plain text).
    assert at.selectbox(key="draw_label").value == HOSTILE


def test_messages_quote_names_literally(project: Project) -> None:
    at = run(annotate(project))
    open_section(at, "Categories")
    next(t for t in at.text_input if t.label == "New category").input("[x](http://203.0.113.7/x)")
    next(b for b in at.button if b.label == "Add category").click()
    run(at)
    assert [s.value for s in at.success] == [literal("Added category [x](http://203.0.113.7/x).")]
    # A name already taken: the error quotes it, escaped as well.
    next(t for t in at.text_input if t.label == "New category").input(HOSTILE)
    next(b for b in at.button if b.label == "Add category").click()
    run(at)
    errors = [e.value for e in at.error]
    assert [e for e in errors if "203" in e] == [literal(f"category '{HOSTILE}' already exists")], errors


def test_an_annotate_upload_that_is_no_image_names_the_file(project: Project) -> None:
    at = run(annotate(project))
    at.sidebar.file_uploader(key="upload_images").set_value(
        [("holiday [1].jpg", b"not a picture", "image/jpeg")]
    )
    run(at)
    errors = [e.value for e in at.sidebar.error]
    assert errors == [literal("Not added: holiday [1].jpg: not an image file Pillow can read")]


def test_a_predict_upload_that_is_no_image_names_the_file(workspace: Path) -> None:
    at = run(open_page("predict.py", 240))
    at.file_uploader(key="pred_images").set_value([("scan_07.jpg", b"not a picture", "image/jpeg")])
    run(at)
    errors = [e.value for e in at.error]
    assert literal("scan_07.jpg: not an image file Pillow can read") in errors
    assert "<upload>" not in "".join(errors)


def test_a_datasets_zip_upload_that_is_no_zip_names_the_file(workspace: Path) -> None:
    at = run(open_page("dataset.py", 120))
    at.file_uploader(key="ds_folder_zip").set_value([("my_faces.zip", b"not a zip", "application/zip")])
    run(at)
    at.button(key="ds_folder_go").click()
    run(at)
    errors = [e.value for e in at.error]
    assert any(e.startswith(literal("Nothing imported: my_faces.zip: not a ZIP file")) for e in errors), (
        errors
    )
