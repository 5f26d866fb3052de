"""The annotator's box list (labels and ✕ by box id), shortcuts help, and the delete image /
project confirmations.

Labelling keys are handled in the browser by the face grid (app/annotate/face_grid.py): 1–9 give the
selected box the project's category of that number, 0 "None", Delete removes it; after a
category key the next box still "None" is selected, so a pre-annotated image is labelled by
pressing one key per face. ← / → are the previous / next image buttons' shortcuts (in the grid
they move the selection).
"""

from __future__ import annotations

import streamlit as st

from app.widgets.common import flash, literal, show_error
from core.annotation.annotations import RULE_TEXT, Annotations
from core.annotation.labelling import LabelOp, apply_ops
from core.annotation.projects import Project, delete_project
from core.annotation.trash import TRASH_DAYS
from core.errors import MaskStudioError

SHORTCUTS = [
    ("← / →", "previous / next image (in the face grid: previous / next box)"),
    ("click a face, ↑ ↓", "select a box in the face grid"),
    ("1 – 9", "category of the selected box (numbers as in the grid's legend)"),
    ("0", 'the selected box becomes "None"'),
    ("Delete", "delete the selected box"),
    ("drag on the image", "draw a box; drag a box to move it, its corners to resize it"),
]


def shortcuts_help() -> None:
    """A small popover listing the keyboard shortcuts."""
    with st.popover("Shortcuts", icon=":material/keyboard:"):
        st.markdown("\n".join(f"- **{key}**: {what}" for key, what in SHORTCUTS))
        st.caption("Keys work when no text field has the focus: click a face or the page background first.")


def box_list(project: Project, image: str, ann: Annotations) -> bool:
    """Each box with a category select and ✕, acting on the box by id (a box deleted or changed
    in another tab is never reached through another one). True when something changed."""
    boxes = ann.boxes(image)
    st.markdown(f"**Boxes on this image: {len(boxes)}**")
    for i, b in enumerate(boxes):
        c_label, c_del = st.columns([4, 1], vertical_alignment="bottom")
        score = "" if b.score is None else f" · {b.score:.2f}"
        flag = f" · ⚠ breaks a rule: {RULE_TEXT.get(b.flag, b.flag)} (dashed)" if b.flag else ""
        new_label = c_label.selectbox(
            f"#{i + 1} [{b.x1}, {b.y1}, {b.x2}, {b.y2}]{score}{flag}",
            ann.categories,
            index=ann.categories.index(b.label),
            key=f"box-{image}-{b.id}-{b.xyxy}-{b.label}",
        )
        if new_label != b.label:
            return _by_id(project, image, b.id, b.label, new_label, i + 1)
        if c_del.button("✕", key=f"del-{image}-{b.id}", help=f"Delete box {i + 1}"):
            return _by_id(project, image, b.id, b.label, None, i + 1)
    return False


def _by_id(project: Project, image: str, box_id: str, was: str, label: str | None, number: int) -> bool:
    """Label (None: delete) the box with this id, unless it changed since this page showed it
    (the face grid's rule: core.annotation.labelling)."""
    with project.edit() as saved:  # locked and re-read: the box is found by its id
        refused = apply_ops(saved, image, [LabelOp(box_id, label, was, number)]).refused
    for message in refused:
        flash("warning", message)
    return True


def delete_image_button(project: Project, image: str, names: list[str], ann: Annotations) -> None:
    """Delete the shown image and its boxes (`ann`: the annotations this run shows), after a
    confirmation."""
    with st.popover("Delete image", icon=":material/delete:"):
        n = len(ann.boxes(image))
        st.write(f"Delete {literal(image)} and its {n} box(es) from this project? Undo brings them back.")
        if st.button("Yes, delete this image", type="primary", key="confirm_delete_image"):
            try:
                project.delete_image(image)
            except MaskStudioError as exc:
                show_error(exc)
                return
            rest = [x for x in names if x != image]
            if rest:
                i = names.index(image)
                st.query_params["image"] = rest[min(i, len(rest) - 1)]
            else:
                st.query_params.pop("image", None)
            flash("success", f"Deleted image {image} and its boxes.")
            st.rerun()


def delete_project_button(name: str) -> None:
    """Delete the open project (images and boxes), after typing its name."""
    with st.sidebar.popover("Delete project", icon=":material/delete_forever:"):
        st.write(
            f"Delete project **{literal(name)}**, all its images and all its boxes? It stays under "
            f"**Deleted projects** in the sidebar for {TRASH_DAYS} days, to restore."
        )
        typed = st.text_input("Type the project's name to confirm", key=f"confirm_project_name-{name}")
        if st.button("Delete project", type="primary", key="confirm_delete_project", disabled=typed != name):
            try:
                delete_project(name)
            except MaskStudioError as exc:
                show_error(exc)
                return
            st.query_params.pop("project", None)
            st.query_params.pop("image", None)
            flash(
                "success",
                f"Deleted project {name}: restore it from Deleted projects in the sidebar.",
            )
            st.rerun()
