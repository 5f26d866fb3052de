"""AppTest of the annotator's zoom (app/annotate/zoom.py on pages/annotate.py): a drawing on a
zoomed region is saved in original pixels, and boxes outside the region are never touched."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.annotation.annotations import Box
from core.annotation.canvas import CanvasView, drawing_token
from core.annotation.projects import Project
from tests.images import image_bytes
from tests.pages.conftest import open_page, run, texts

IMAGE = "crowd.png"
FAR = Box(100, 100, 300, 300, "mask")  # far from the small face
FACE = Box(795, 592, 810, 607, "mask")  # a 15 px face


@pytest.fixture
def project(workspace):
    p = Project.create("demo")
    p.add_image(IMAGE, image_bytes((1600, 1200), (200, 180, 160)))
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_box(IMAGE, FAR)
        ann.add_box(IMAGE, FACE)
    return p


def zoom_on_the_face(project: Project, zoom: int) -> AppTest:
    at = open_page("annotate.py")
    at.query_params["project"] = project.name
    at.query_params["image"] = IMAGE
    run(at)
    at.get("button_group")[1].set_value(zoom)  # [0] is the section switch
    run(at)
    face_id = project.load().boxes(IMAGE)[1].id
    next(s for s in at.selectbox if s.label == "Centre on").set_value(face_id)
    return run(at)


def canvas_state(objects: list[dict]) -> dict:
    return {"drawing": {"raw": {"objects": objects}, "data": None}, "backgroundFit": None}


def zoomed_key(project: Project, view: CanvasView) -> str:
    x1, y1, x2, y2 = view.region
    token = drawing_token(project.load(), IMAGE)
    return f"canvas-{project.name}-{IMAGE}-{token}-None-0-z{x1},{y1},{x2},{y2}"


def test_a_box_drawn_at_8x_is_saved_in_original_pixels_and_other_boxes_stay(project: Project) -> None:
    at = zoom_on_the_face(project, 8)
    view = CanvasView.zoomed(1600, 1200, 8, (802.5, 599.5), 600, 650)
    assert view.region == (702, 524, 902, 674)  # 200x150 px shown on the 600x450 canvas: 3x
    assert "Showing x 702–902, y 524–674 of 1600×1200 px; 1 of 2 boxes in this region." in texts(at)
    face = view.to_canvas(FACE)
    drawn = {"type": "LabeledRect", "label": "mask", "left": 30, "top": 30, "width": 45, "height": 45}
    at.session_state[zoomed_key(project, view)] = canvas_state([{"type": "LabeledRect", **face}, drawn])
    run(at)
    boxes = project.load().boxes(IMAGE)
    assert [b.xyxy for b in boxes] == [FAR.xyxy, FACE.xyxy, (712, 534, 727, 549)]


def test_a_zoomed_canvas_reporting_nothing_removes_only_the_boxes_it_showed(project: Project) -> None:
    at = zoom_on_the_face(project, 8)
    view = CanvasView.zoomed(1600, 1200, 8, (802.5, 599.5), 600, 650)
    at.session_state[zoomed_key(project, view)] = canvas_state([])  # the user deleted the face's box
    run(at)
    assert [b.xyxy for b in project.load().boxes(IMAGE)] == [FAR.xyxy]


def test_1x_shows_the_whole_image_and_zoom_changes_the_canvas_key(project: Project) -> None:
    at = open_page("annotate.py")
    at.query_params["project"] = project.name
    at.query_params["image"] = IMAGE
    run(at)
    assert not [s for s in at.selectbox if s.label == "Centre on"]
    assert "shown at 0.38×" in texts(at)
    at.get("button_group")[1].set_value(2)
    run(at)
    assert "shown at 0.75×" in texts(at)  # the face grid has no selection: the image centre
    assert "(the image centre: no face selected in the grid)" in texts(at)


def test_by_default_the_region_is_centred_on_the_face_selected_in_the_grid(project: Project) -> None:
    from app.annotate.face_grid import SELECTED, grid_key

    at = open_page("annotate.py")
    at.query_params["project"] = project.name
    at.query_params["image"] = IMAGE
    run(at)
    at.session_state[SELECTED] = {grid_key(project, IMAGE): project.load().boxes(IMAGE)[0].id}  # FAR
    at.get("button_group")[1].set_value(4)
    run(at)
    assert "Showing x 0–400, y 50–350 of 1600×1200 px; 1 of 2 boxes in this region." in texts(at)
