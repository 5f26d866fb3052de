"""The annotator's zoom: a zoom factor and the region the canvas shows, above the canvas.

At 1× the canvas shows the whole image. At 2×, 4× or 8× it shows a region of the image that
many times smaller, on the same canvas, centred on the face selected in the face grid, on a
chosen box, or on a point set with two sliders. The region is a `CanvasView`
(core.annotation.canvas): boxes drawn, moved or resized there are saved in original pixels,
and boxes outside the region are never changed by the canvas.
"""

from __future__ import annotations

import streamlit as st

from app.annotate.face_grid import selected_box
from core.annotation.annotations import Annotations
from core.annotation.canvas import ZOOMS, CanvasView
from core.annotation.projects import Project

ZOOM_KEY = "canvas_zoom"
GRID = "grid"  # centre on the face selected in the grid
POINT = "point"  # centre on the point of the two sliders


def _centre_key(project: Project, image: str) -> str:
    return f"zoom_centre-{project.name}-{image}"


def zoom_view(
    project: Project, image: str, ann: Annotations, size: tuple[int, int], max_w: int, max_h: int
) -> CanvasView:
    """Show the zoom controls and return the view of the canvas they ask for."""
    width, height = size
    c_zoom, c_centre = st.columns([2, 3], vertical_alignment="bottom")
    zoom = c_zoom.segmented_control(
        "Zoom",
        ZOOMS,
        default=1,
        required=True,
        format_func=lambda z: f"{z}×",
        key=ZOOM_KEY,
        help="Show a region of the image enlarged, to draw and adjust small faces precisely. "
        "Boxes are saved in the image's own pixels; boxes outside the region stay as they are.",
    )
    if not zoom or zoom == 1:
        return CanvasView.fit(width, height, max_w, max_h)
    boxes = ann.boxes(image)
    numbers = {b.id: n for n, b in enumerate(boxes, 1)}
    labels = {b.id: b.label for b in boxes}
    options = [GRID, *numbers, POINT]
    key = _centre_key(project, image)
    if st.session_state.get(key) not in options:  # that box was deleted (here or elsewhere)
        st.session_state[key] = GRID
    where = c_centre.selectbox(
        "Centre on",
        options,
        format_func=lambda o: (
            "the face selected in the grid"
            if o == GRID
            else "a point (sliders below)"
            if o == POINT
            else f"box #{numbers[o]} {labels[o]}"
        ),
        key=key,
    )
    centre: tuple[float, float] | None = None
    target = selected_box(project, image) if where == GRID else where
    box = next((b for b in boxes if b.id == target), None)
    if box is not None:
        centre = ((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2)
    elif where == POINT:
        c_x, c_y = st.columns(2)
        centre = (
            c_x.slider("Centre x (px)", 0, width, width // 2, key=f"zoom_x-{project.name}-{image}"),
            c_y.slider("Centre y (px)", 0, height, height // 2, key=f"zoom_y-{project.name}-{image}"),
        )
    view = CanvasView.zoomed(width, height, zoom, centre, max_w, max_h)
    x1, y1, x2, y2 = view.region
    shown = sum(1 for b in boxes if view.shows(b))
    st.caption(
        f"Showing x {x1}–{x2}, y {y1}–{y2} of {width}×{height} px"
        + ("" if box is not None or where == POINT else " (the image centre: no face selected in the grid)")
        + f"; {shown} of {len(boxes)} boxes in this region."
    )
    return view


def region_key(view: CanvasView) -> str:
    """A part of the canvas key naming the shown region ("" unzoomed), so the canvas remounts
    when the zoom or the region changes and never writes a drawing made on another region."""
    if not view.is_zoomed:
        return ""
    x1, y1, x2, y2 = view.region
    return f"-z{x1},{y1},{x2},{y2}"
