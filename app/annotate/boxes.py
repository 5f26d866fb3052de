"""Annotate, section Boxes: the image navigator (next/previous in natural file order), the canvas
(boxes drawn at any scale, saved in the image's own pixels), the face grid and box list beside
it, pre-annotation with a detector and classifying the "None" boxes with a model."""

import io

import streamlit as st
from PIL import Image

from app.annotate.face_grid import face_grid, selected_box
from app.annotate.keys import (
    box_list,
    delete_image_button,
    shortcuts_help,
)
from app.annotate.zoom import region_key, zoom_view
from app.widgets.common import flash, literal, show_error
from core.annotation.annotations import NONE, Annotations
from core.annotation.canvas import (
    STALE_MESSAGE,
    STROKE_WIDTH,
    CanvasView,
    StaleDrawing,
    apply_drawing,
    canvas_objects,
    drawing_differs,
    drawing_token,
    label_font_px,
)
from core.annotation.projects import Project, neighbour
from core.errors import MaskStudioError
from core.imaging import load_image
from core.overlay import class_hex

# 600 px fits the canvas column with no clipping from a 1280 px wide window up (tests/e2e).
CANVAS_DEFAULT_W = 600
CANVAS_MAX_H = 650


@st.cache_data(max_entries=64, show_spinner=False)
def display_jpeg(
    path: str, mtime: float, width: int, height: int, region: tuple[int, int, int, int]
) -> bytes:
    """The region (x1, y1, x2, y2) of the image resized to the canvas size, as JPEG bytes (the
    canvas background). Enlarged 4 times or more, its pixels stay sharp squares (precise edges)."""
    img = load_image(path)
    crop = img if region == (0, 0, img.width, img.height) else img.crop(region)
    sharp = width >= 4 * crop.width
    img = crop.resize((width, height), Image.Resampling.NEAREST if sharp else Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


REFUSAL_KEY = "canvas_refusal"
LAST_CANVAS = "canvas_last"  # the canvas of the last run: its key and the boxes it was given


def bump_canvas() -> None:
    """Remount the canvas so it shows exactly the saved boxes.

    The canvas is also keyed by `drawing_token` (the saved boxes it shows), so any change of
    them, made anywhere, remounts it; this is for a refused drawing, which changes nothing.
    """
    st.session_state["canvas_rev"] = st.session_state.get("canvas_rev", 0) + 1


# ----- navigation ------------------------------------------------------------------------
def is_annotated(ann: Annotations, image: str) -> bool:
    """An image is annotated when it has boxes and every one has a category other than None."""
    boxes = ann.boxes(image)
    return bool(boxes) and all(b.label != NONE for b in boxes)


def choose_image(project: Project, names: list[str], ann: Annotations) -> str:
    current = st.query_params.get("image")
    if current not in names:
        current = names[0]
    annotated = sum(1 for n in names if is_annotated(ann, n))
    c_prev, c_pick, c_next, c_count = st.columns([3, 7, 3, 4], vertical_alignment="bottom")
    if c_prev.button("Previous", width="stretch", disabled=current == names[0], shortcut="Left"):
        current = neighbour(names, current, -1)
    if c_next.button("Next", width="stretch", disabled=current == names[-1], shortcut="Right"):
        current = neighbour(names, current, +1)
    picked = c_pick.selectbox(
        "Image",
        names,
        index=names.index(current),
        format_func=lambda n: (
            f"{names.index(n) + 1}/{len(names)} · {n}" + (" ✓" if is_annotated(ann, n) else "")
        ),
        key=f"pick-{project.name}-{current}",
    )
    current = picked or current
    c_count.markdown(f"**{annotated} of {len(names)}** images annotated")
    if st.query_params.get("image") != current:
        st.query_params["image"] = current
    return current


# ----- the canvas ------------------------------------------------------------------------
def canvas_key(project: Project, image: str, token: str, view: CanvasView) -> str:
    """Keyed by what the canvas shows (the boxes, the box selected in the face grid, the zoomed
    region): a drawing made on other boxes or another region can never come back from it."""
    rev = st.session_state.get("canvas_rev", 0)
    return f"canvas-{project.name}-{image}-{token}-{selected_box(project, image)}-{rev}{region_key(view)}"


def say_if_a_drawing_was_dropped(project: Project, image: str, key: str) -> None:
    """The boxes changed elsewhere (another tab) after the last canvas was drawn on: its drawing
    was made on other boxes and is dropped with the canvas. Say so, once."""
    from streamlit_drawable_canvas import CanvasResult

    last = st.session_state.get(LAST_CANVAS)
    if not last or last["key"] == key or last["where"] != (project.name, image):
        return
    st.session_state.pop(LAST_CANVAS, None)
    try:
        value = st.session_state[last["key"]]
        drawn = CanvasResult(value["drawing"]["raw"], None, False).boxes
    except Exception:  # noqa: BLE001 - no state left for that canvas: nothing was pending
        return
    if drawing_differs(last["boxes"], drawn, last["view"], last["categories"]):
        flash("warning", STALE_MESSAGE)
        st.rerun()


def canvas_drawing(project: Project, image: str, ann: Annotations, view: CanvasView, label: str, key: str):
    from streamlit_drawable_canvas import st_canvas  # only inside a Streamlit runtime

    path = project.image_path(image)
    return st_canvas(
        fill_color="rgba(255, 255, 255, 0.0)",
        stroke_width=STROKE_WIDTH,
        stroke_color=class_hex(label),
        background_image=display_jpeg(
            str(path), path.stat().st_mtime, view.display_w, view.display_h, view.region
        ),
        background_image_fit="contain",
        width=view.display_w,
        height=view.display_h,
        drawing_mode="labeled_rect",
        label=label,
        font_size=label_font_px(ann.boxes(image), view),
        initial_drawing={"objects": canvas_objects(ann.boxes(image), view, selected_box(project, image))},
        key=key,
    )


def preannotate(project: Project, image: str, names: list[str]) -> None:
    from app.widgets.faces import detector_choice, preannotate_images

    with st.expander("Pre-annotate faces", expanded=False):
        detector = detector_choice("preannotate_detector")
        c1, c2 = st.columns(2)
        targets = None
        if c1.button("This image", width="stretch"):
            targets = [image]
        if c2.button("All images", width="stretch"):
            targets = names
        if targets and preannotate_images(project, targets, detector):
            bump_canvas()
            st.rerun()


def classify_boxes_panel(project: Project, image: str, names: list[str], ann: Annotations) -> None:
    from app.annotate.classify import classify_panel

    with st.expander("Classify unlabelled boxes", expanded=False):
        if classify_panel(project, image, names, ann.categories):
            bump_canvas()
            st.rerun()


def annotate_tab(project: Project) -> None:
    names = project.list_images()
    if not names:
        st.info("This project has no images yet. Add some with **Add images** in the sidebar.")
        return
    ann = project.load()
    image = choose_image(project, names, ann)
    try:
        width, height = project.image_size(image)
    except MaskStudioError as exc:
        show_error(exc, "This image cannot be shown: ")
        if st.button("Remove this file from the project"):
            project.delete_image(image)
            st.rerun()
        return
    max_w = st.session_state.get("canvas_width", CANVAS_DEFAULT_W)
    c_canvas, c_side = st.columns([7, 2])
    with c_canvas:  # the zoom and the region shown, above the canvas
        view = zoom_view(project, image, ann, (width, height), max_w, CANVAS_MAX_H)
    token = drawing_token(ann, image)
    key = canvas_key(project, image, token, view)
    say_if_a_drawing_was_dropped(project, image, key)
    with c_side:
        refusal = st.session_state.get(REFUSAL_KEY)
        if refusal and refusal["where"] == (project.name, image):
            for msg in refusal["messages"]:
                st.warning(literal(msg), icon=":material/block:")
        label = st.selectbox(
            "Category for new boxes",
            ann.categories,
            index=min(1, len(ann.categories) - 1),
            key="draw_label",
            help="Each box you draw gets this category; change it later in the list below.",
        )
        st.caption(
            f"{literal(image)}: {width}×{height} px, shown at {view.sx:.2f}×. Boxes are saved in "
            "original pixels. Refused: area under 40 px², a side of 5 px or less, or overlap "
            "over 20% of the smaller box."
        )
        face_grid(project, image, ann, token)
        preannotate(project, image, names)
        classify_boxes_panel(project, image, names, ann)
        if box_list(project, image, ann):
            bump_canvas()
            st.rerun()
        c_keys, c_del = st.columns(2)
        with c_keys:
            shortcuts_help()
        with c_del:
            delete_image_button(project, image, names, ann)
    with c_canvas:
        st.space(24)  # room for the canvas toolbar, which shows above it on hover
        result = canvas_drawing(project, image, ann, view, label, key)
    st.session_state[LAST_CANVAS] = {
        "key": key,
        "where": (project.name, image),
        "boxes": ann.boxes(image),
        "view": view,
        "categories": list(ann.categories),
    }
    drawn = [] if result.json_data is None else result.boxes
    try:
        with project.edit() as saved:
            changes = apply_drawing(saved, image, drawn, view, default_label=label, made_on=token)
    except StaleDrawing as exc:  # saved boxes changed since this run loaded them
        st.session_state.pop(LAST_CANVAS, None)
        flash("warning", str(exc))
        st.rerun()
    if changes.refused:  # shown beside the canvas until the next drawing
        st.session_state[REFUSAL_KEY] = {"where": (project.name, image), "messages": changes.refused}
    elif changes.changed:
        st.session_state.pop(REFUSAL_KEY, None)
    if changes.changed or changes.refused:
        st.session_state.pop(LAST_CANVAS, None)  # this drawing was used: nothing is pending
        bump_canvas()
        st.rerun()
