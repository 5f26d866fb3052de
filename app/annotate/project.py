"""Annotate: choosing or creating the project (kept in the URL as ?project=...), the categories a
new project starts with, and adding images to it."""

import streamlit as st

from app.annotate.keys import (
    delete_project_button,
)
from app.widgets.common import flash, literal, show_error
from core.annotation.annotations import NONE
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.imaging import IMAGE_EXTENSIONS

#: The categories a new project starts with when no project was used before (editable at creation).
PRESET_CATEGORIES = ["with_mask", "without_mask", "mask_worn_incorrectly"]
UPLOAD_TYPES = [e.lstrip(".") for e in IMAGE_EXTENSIONS]


# ----- project choice ------------------------------------------------------------------
def choose_project() -> Project | None:
    st.sidebar.header("Project")
    names = list_projects()
    # The selectbox's own state decides while the page is open; the URL only when the page is
    # (re)opened (a link, Predict's or Datasets' "open in the annotator"). A rerun can still carry
    # the URL of a moment ago, which must not reopen the previous project, and a project just
    # created is chosen before the selectbox exists (its state cannot change after that).
    just_created = st.session_state.pop("project_created", None)
    if just_created in names:
        st.session_state["project_pick"] = just_created
    elif st.session_state.get("project_pick") not in names:
        wanted = st.query_params.get("project")
        if names:
            st.session_state["project_pick"] = wanted if wanted in names else names[0]
        else:
            st.session_state.pop("project_pick", None)
    if names:
        name = st.sidebar.selectbox("Open project", names, key="project_pick")
    else:
        name = None
        st.sidebar.info("No project yet: create one below.")
    with st.sidebar.form("new_project", clear_on_submit=True):
        new_name = st.text_input("New project name")
        cats = st.text_input(
            "Its categories",
            value=", ".join(starting_categories(name)),
            help='Comma-separated; "None" is always there. From the project open now, else a preset.',
        )
        if st.form_submit_button("Create project") and new_name.strip():
            try:
                created = Project.create(new_name)
                with created.edit() as ann:
                    for cat in (c.strip() for c in cats.split(",")):
                        if cat and cat not in ann.categories:
                            ann.add_category(cat)
                st.query_params["project"] = created.name
                st.query_params.pop("image", None)
                st.session_state["project_created"] = created.name
                flash("success", f"Created project {created.name}.")
                st.rerun()
            except MaskStudioError as exc:
                show_error(exc)
    if name is None:
        return None
    delete_project_button(name)
    if st.query_params.get("project") != name:
        st.query_params["project"] = name
        st.query_params.pop("image", None)
    return Project.open(name)


def starting_categories(open_project: str | None) -> list[str]:
    """A new project's categories: those of the project open now (the last used), else the preset."""
    if open_project:
        try:
            cats = [c for c in Project.open(open_project).load().categories if c != NONE]
        except MaskStudioError:
            cats = []
        if cats:
            return cats
    return PRESET_CATEGORIES


def upload_images(project: Project) -> None:
    files = st.sidebar.file_uploader(
        "Add images", type=UPLOAD_TYPES, accept_multiple_files=True, key="upload_images"
    )
    done: set[str] = st.session_state.setdefault("uploaded_ids", set())
    added, failed = [], []
    for f in files or []:
        if f.file_id in done:
            continue
        done.add(f.file_id)
        try:
            added.append(project.add_image(f.name, f.getvalue()))
        except MaskStudioError as exc:
            failed.append(str(exc))
    if added:  # open the first new image in the project's order, not the browser's upload order
        order = {n: i for i, n in enumerate(project.list_images())}
        st.query_params["image"] = min(added, key=lambda n: order.get(n, len(order)))
        st.sidebar.success(f"Added {len(added)} image(s).")
    for msg in failed:
        st.sidebar.error(literal(f"Not added: {msg}"))
