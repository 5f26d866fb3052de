"""The annotator's keyboard-driven labelling, shortcuts help, and the delete image / project
confirmations.

Shortcuts are Streamlit button shortcuts: ← / → previous and next image (on the navigation
buttons), 1–9 give the selected box the project's category of that number (0: "None"), Delete
removes the selected box. After a category key the next box still "None" is selected, so a
pre-annotated image is labelled by pressing one key per face.
"""

from __future__ import annotations

import streamlit as st

from app.ui.common import flash, literal, show_error
from core.annotation.annotations import NONE, Annotations
from core.annotation.projects import Project, delete_project
from core.errors import MaskStudioError

SHORTCUTS = [
    ("← / →", "previous / next image"),
    ("1 – 9", "category of the selected box (numbers as on the buttons)"),
    ("0", 'the selected box becomes "None"'),
    ("Delete", "delete the selected box"),
    ("drag on the image", "draw a box; drag a box to move it, its corners to resize it"),
]


def shortcuts_help() -> None:
    """A small popover listing the keyboard shortcuts."""
    with st.popover("Shortcuts", icon=":material/keyboard:"):
        st.markdown("\n".join(f"- **{key}**: {what}" for key, what in SHORTCUTS))
        st.caption("Keys work when no text field has the focus: click the page background first.")


def _selected_key(project: Project, image: str) -> str:
    return f"selbox-{project.name}-{image}"


def keyboard_labelling(project: Project, image: str, ann: Annotations) -> None:
    """Select a box, then a category button (or its number key) labels it."""
    boxes = ann.boxes(image)
    if not boxes:
        return
    key = _selected_key(project, image)
    wanted = st.session_state.pop(f"{key}-next", None)
    if wanted is not None:
        st.session_state[key] = wanted
    if st.session_state.get(key) not in range(len(boxes)):
        st.session_state[key] = next((i for i, b in enumerate(boxes) if b.label == NONE), 0)
    selected = st.selectbox(
        "Selected box",
        range(len(boxes)),
        format_func=lambda i: f"#{i + 1} · {boxes[i].label}",
        key=key,
        help="The category keys and Delete act on this box.",
    )
    numbered = [c for c in ann.categories if c != NONE][:9]
    choice = None
    for n, cat in enumerate(numbered, 1):  # the button shows its key
        if st.button(literal(cat), key=f"qk-{n}", shortcut=str(n), width="stretch"):
            choice = cat
    if st.button(NONE, key="qk-0", shortcut="0", width="stretch"):
        choice = NONE
    if st.button("Delete box", key="qk-del", shortcut="Delete", width="stretch", icon=":material/delete:"):
        with project.edit() as saved:
            saved.delete_box(image, selected)
        st.session_state[f"{key}-next"] = max(0, selected - 1)
        st.rerun()
    if choice is not None:
        with project.edit() as saved:
            saved.set_label(image, selected, choice)
            after = saved.boxes(image)
        following = [i for i in range(selected + 1, len(after)) if after[i].label == NONE]
        following += [i for i in range(selected) if after[i].label == NONE]
        st.session_state[f"{key}-next"] = following[0] if following else selected
        st.rerun()


def delete_image_button(project: Project, image: str, names: list[str], ann: Annotations) -> None:
    """Delete the shown image and its boxes (`ann`: the annotations this run shows), after a
    confirmation."""
    with st.popover("Delete image", icon=":material/delete:"):
        n = len(ann.boxes(image))
        st.write(f"Delete {literal(image)} and its {n} box(es) from this project? This cannot be undone.")
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
            f"Delete project **{literal(name)}**, all its images and all its boxes? This cannot be undone."
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
            flash("success", f"Deleted project {name}.")
            st.rerun()
