"""Auto-crop: find faces in raw photos, save their crops in the chosen dataset's unlabelled bin,
and send the photos left to do (no face found, not processed yet) to the annotator."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.dataset.common import dataset_label, progress, select_dataset
from app.widgets.common import ANNOTATE_PAGE, flash, literal, show_error, show_flashes
from core.data.autocrop import Photo, auto_crop, photos_in, photos_to_do, send_to_project
from core.data.dataset import Dataset
from core.errors import MaskStudioError
from core.imaging import CROP_SIZE, IMAGE_EXTENSIONS

UPLOAD_TYPES = [e.lstrip(".") for e in IMAGE_EXTENSIONS]
TODO_KEY = "ds_todo"


def autocrop_section(current: Dataset | None, latest: dict[str, str]) -> None:
    st.caption(
        "Finds faces with the default face detector and saves their square crops in the chosen "
        "dataset's unlabelled bin (`.unlabelled/`, not a class): give them a class in **Review**. "
        "Photos with no face found can be boxed by hand in the annotator."
    )
    if current is None:
        create_empty_dataset()
        return
    photos = gather_photos()
    st.markdown(f"{len(photos)} photo(s) · crops go to **{literal(dataset_label(current.name, latest))}**")
    size = int(st.number_input("Crop size (px)", 32, 1024, CROP_SIZE, step=16, key="ds_auto_size"))
    left, right = st.columns(2)
    if left.button("Find faces and crop", key="ds_auto_go", type="primary", disabled=not photos):
        run_autocrop(current, photos, size)
    if right.button("List photos to do", key="ds_auto_todo", disabled=not photos):
        st.session_state[TODO_KEY] = (
            signature(photos),
            [(p[0], why) for p, why in photos_to_do(current, photos)],
        )
    todo_list(current, photos)


def create_empty_dataset() -> None:
    st.info("Auto-crop adds to the chosen dataset: create an empty one first.")
    new = st.text_input("New dataset name", key="ds_auto_new").strip()
    if st.button("Create dataset", key="ds_auto_create", disabled=not new):
        try:
            ds = Dataset.create(new)
        except MaskStudioError as exc:
            show_error(exc)
            return
        flash("success", f"Created the empty dataset {ds.name}.")
        select_dataset(ds.name)
        st.rerun()


def gather_photos() -> list[Photo]:
    """Photos from the folder field and the uploader (a bad folder is explained, not fatal)."""
    folder = st.text_input("Folder of raw photos", key="ds_auto_path").strip()
    uploads = st.file_uploader(
        "…or upload photos", type=UPLOAD_TYPES, accept_multiple_files=True, key="ds_auto_up"
    )
    photos: list[Photo] = [(u.name, u.getvalue()) for u in uploads or []]
    if folder:
        try:
            found = photos_in(folder)
        except MaskStudioError as exc:
            show_error(exc)
        else:
            if not found:
                st.warning(f"No image files directly inside {literal(folder)}.")
            photos += found
    return photos


def signature(photos: list[Photo]) -> tuple[str, ...]:
    """Which photos a to-do list was made for (it is dropped when they change)."""
    return tuple(p[0] for p in photos)


def run_autocrop(ds: Dataset, photos: list[Photo], size: int) -> None:
    try:
        with progress("Detecting faces") as update:
            r = auto_crop(ds, photos, size=size, progress=update)
    except MaskStudioError as exc:
        show_error(exc, "Auto-crop stopped: ")
        return
    flash(
        "success",
        f"{sum(r.faces.values())} face(s) from {len(r.faces)} photo(s) saved as unlabelled crops "
        f"in {ds.name}: review them in the Review section.",
    )
    for what, items in (
        ("No face found", r.no_face),
        ("Unreadable", r.unreadable),
        ("Done before (skipped)", r.already),
    ):
        if items:
            flash("info", f"{what} ({len(items)}): " + ", ".join(items[:20]))
    st.session_state.pop(TODO_KEY, None)
    st.rerun()


def todo_list(ds: Dataset, photos: list[Photo]) -> None:
    """The photos left to do and the button that copies them into an annotation project."""
    saved = st.session_state.get(TODO_KEY)
    if saved is None or saved[0] != signature(photos):
        return
    todo = saved[1]
    if not todo:
        st.success("Every photo has been auto-cropped with at least one face found.")
        return
    st.markdown(f"**{len(todo)} photo(s) to do**")
    st.dataframe(pd.DataFrame(todo, columns=["photo", "why"]), hide_index=True)
    project = st.text_input("Annotation project for them", f"{ds.name}_to_box", key="ds_todo_project")
    if st.button(f"Copy {len(todo)} photo(s) to the annotator", key="ds_todo_open", disabled=not project):
        open_in_annotator(photos, todo, project)


def open_in_annotator(photos: list[Photo], todo: list[tuple[str, str]], project: str) -> None:
    wanted = {name for name, _ in todo}
    errors: list[str] = []
    try:
        proj, added = send_to_project([p for p in photos if p[0] in wanted], project, on_error=errors.append)
    except MaskStudioError as exc:
        show_error(exc, "Nothing copied: ")
        return
    flash("success", f"Copied {len(added)} photo(s) into project {proj.name}.")
    for e in errors:
        flash("warning", f"Skipped: {e}")
    st.session_state.pop(TODO_KEY, None)
    st.session_state.pop("project_pick", None)
    try:
        st.switch_page(ANNOTATE_PAGE, query_params={"project": proj.name})
    except StreamlitAPIException:  # the page runs on its own (AppTest): no navigation
        show_flashes()
        st.info(literal(f"Open project {proj.name} on the Annotate page to box them."))
