"""The Build section: crop an annotation project, import a class-folder dataset (folder or ZIP)
or a Pascal VOC scene set. Each writes a new dataset, or adds to the chosen one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st

from app.dataset.common import build, target_inputs
from app.dataset.label_map import label_map_editor
from app.widgets.common import literal, naming, show_error
from core.annotation.annotations import NONE, Annotations
from core.annotation.projects import Project, list_projects
from core.data.build import crop_project
from core.data.dataset import Dataset, shared_folders_message
from core.data.folder_import import folder_sources, import_folder, import_zip
from core.data.voc_import import import_voc
from core.errors import MaskStudioError
from core.imaging import CROP_SIZE

T = TypeVar("T")
SOURCES = ["From a project", "Folder dataset", "Pascal VOC", "Auto-crop"]
CROP_RULE = (
    "Every labelled box (not “None”) becomes a square crop: the box's short side grows around "
    "its centre until it matches the long side (never a stretch); where the square leaves the "
    "photo, the edge pixels are repeated. The square is then resized to the crop size. Files: "
    "`<label>/<photo>_<box number>.png`. Predict and Live crop faces the same way."
)


def build_section(current: Dataset | None, latest: dict[str, str]) -> None:
    """Tabs: from a project, folder dataset, Pascal VOC, auto-crop."""
    from app.dataset.autocrop import autocrop_section

    # Keyed and bound to the URL (?source=...): the open tab survives reruns and reloads.
    tabs = st.tabs(SOURCES, key="source", bind="query-params")
    with tabs[0]:
        project_tab(current, latest)
    with tabs[1]:
        folder_tab(current, latest)
    with tabs[2]:
        voc_tab(current, latest)
    with tabs[3]:
        autocrop_section(current, latest)


def crop_inputs(key: str) -> tuple[int, int]:
    """Crop size and the smallest box side to keep, side by side."""
    left, right = st.columns(2)
    size = left.number_input(
        "Crop size (px)",
        32,
        1024,
        CROP_SIZE,
        step=16,
        key=f"{key}_size",
        help="Every crop is saved as a square of this side.",
    )
    min_side = right.number_input(
        "Skip boxes smaller than (px)",
        0,
        512,
        0,
        key=f"{key}_min",
        help="Boxes whose longer side is below this are left out (0: keep all).",
    )
    return int(size), int(min_side)


def project_summary(ann: Annotations) -> tuple[int, str]:
    """(labelled boxes, one line about what a project's annotations `ann` hold)."""
    counts = ann.label_counts()
    none = counts.pop(NONE, 0)
    labelled = sum(counts.values())
    photos = sum(1 for n in ann.images if any(b.label != NONE for b in ann.boxes(n)))
    per_class = ", ".join(f"{literal(c)}: {n}" for c, n in counts.items() if n) or "none"
    line = f"{labelled} labelled box(es) on {photos} image(s) ({per_class})"
    if none:
        line += f"; {none} “None” box(es) are skipped"
    return labelled, line


def project_tab(current: Dataset | None, latest: dict[str, str]) -> None:
    st.caption(CROP_RULE)
    projects = list_projects()
    if not projects:
        st.info("No annotation project yet: create one and draw boxes on the Annotate page.")
        return
    project = st.selectbox("Annotation project", projects, key="ds_crop_project")
    try:
        ann = Project.open(str(project)).load()
    except MaskStudioError as exc:
        show_error(exc, f"Project {project} cannot be read: ")
        return
    labelled, line = project_summary(ann)
    st.markdown(line)
    clash = shared_folders_message(c for c, n in ann.label_counts().items() if n and c != NONE)
    if clash:  # shown before the build, which refuses it
        st.error(clash, icon=":material/error:")
    if not labelled:
        st.warning(
            "This project has no labelled box yet: give its boxes a category on the Annotate page "
            "(boxes labelled “None” are not cropped)."
        )
    size, min_side = crop_inputs("ds_crop")
    flagged = ann.flagged_count()
    keep_flagged = flagged > 0 and st.checkbox(
        f"Also crop the {flagged} boxes flagged as breaking a box rule",
        key="ds_crop_flagged",
        help="Boxes imported with “keep all boxes, flag rule breakers” (nested, overlapping, tiny).",
    )
    name, add = target_inputs("ds_crop", f"{project}_crops", current, latest)
    if st.button("Crop boxes", key="ds_crop_go", type="primary", disabled=not labelled):
        build(
            "Cropping boxes",
            "Cropped",
            name,
            add,
            current,
            lambda ds, p: crop_project(
                Project.open(str(project)),
                ds,
                size=size,
                min_side=min_side,
                progress=p,
                include_flagged=keep_flagged,
            ),
            name_field=("ds_crop", f"{project}_crops"),
        )


def _read_or_say(path: str, read: Callable[[], T]) -> T | None:
    """`read()`, or None after saying why `path` cannot be read."""
    try:
        return read()
    except MaskStudioError as exc:
        show_error(exc)
    except OSError as exc:
        st.error(literal(f"{path} cannot be read ({exc.strerror or exc})"), icon=":material/error:")
    return None


def folder_preview(path: str) -> dict[str, int] | None:
    """Say what a class-folder dataset holds before it is imported: {class: images}, or None
    when it cannot be imported."""
    found = _read_or_say(path, lambda: folder_sources(path))
    if found is None:
        return None
    sources, ignored = found
    counts: dict[str, int] = {}
    for label, _, _ in sources:
        counts[label] = counts.get(label, 0) + 1
    per_class = ", ".join(f"{literal(c)}: {n}" for c, n in counts.items())
    line = f"Found {len(sources)} image(s) in {len(counts)} class folder(s): {per_class}."
    if ignored:
        line += f" {len(ignored)} other file(s) are ignored."
    st.markdown(line)
    return counts


def voc_preview(path: str) -> dict[str, int] | None:
    """Say what a VOC folder holds (photos, boxes per class, photos skipped): {class: boxes}."""
    from core.inference.scene_sets import load_scene_set

    scenes = _read_or_say(path, lambda: load_scene_set(Path(path).expanduser()))
    if scenes is None:
        return None
    counts = scenes.classes
    per_class = ", ".join(f"{literal(c)}: {n}" for c, n in counts.items())
    st.markdown(f"Found {len(scenes.scenes)} photo(s) with {scenes.faces} box(es): {per_class}.")
    if scenes.skipped:
        with st.expander(f"{len(scenes.skipped)} file(s) will be skipped"):
            st.text("\n".join(scenes.skipped[:200]))
    return counts


def path_input(about: str, label: str, example: str, key: str) -> str:
    """What the folder must hold (a caption), then its path on this computer, stripped."""
    st.caption(about)
    return st.text_input(label, placeholder=example, key=key).strip()


def folder_tab(current: Dataset | None, latest: dict[str, str]) -> None:
    path = path_input(
        "One sub-folder per class (`with_mask/…`, `without_mask/…`). It is copied into the "
        "workspace; the original is never changed. Files Keras cannot read (WEBP, …) become PNG.",
        "Folder on this computer",
        "../shared/data/face_mask_binary_real",
        "ds_folder_path",
    )
    upload = st.file_uploader("…or a ZIP of class folders", type=["zip"], key="ds_folder_zip")
    counts = folder_preview(path) if path else None
    ready = counts is not None if path else upload is not None
    base = Path(path).name if path else Path(upload.name).stem if upload else "imported"
    name, add = target_inputs("ds_folder", base or "imported", current, latest)
    mapping = None
    if counts:
        mapping = label_map_editor(
            "ds_folder", counts, current.classes() if add and current else [], "images"
        )
    if st.button("Import", key="ds_folder_go", type="primary", disabled=not ready):
        if path:
            action = lambda ds, p: import_folder(path, ds, progress=p, label_map=mapping)  # noqa: E731
        else:
            action = lambda ds, p: naming(upload.name, lambda: import_zip(upload.getvalue(), ds, progress=p))  # noqa: E731
        build(
            "Importing",
            "Imported",
            name,
            add,
            current,
            action,
            name_field=("ds_folder", base or "imported"),
        )


def voc_tab(current: Dataset | None, latest: dict[str, str]) -> None:
    path = path_input(
        "Scene photos with one Pascal VOC XML file each (anywhere under the folder): every box "
        "is cropped like a project box, into a folder named after its class.",
        "VOC folder (XML + images)",
        "../shared/data/face_mask_detection_voc",
        "ds_voc_path",
    )
    counts = None
    if path and not Path(path).expanduser().is_dir():
        st.error(literal(f"{path} is not a folder"), icon=":material/error:")
    elif path:
        counts = voc_preview(path)
    size, min_side = crop_inputs("ds_voc")
    base = f"{Path(path).name or 'voc'}_crops"
    name, add = target_inputs("ds_voc", base, current, latest)
    mapping = (
        label_map_editor("ds_voc", counts, current.classes() if add and current else []) if counts else None
    )
    if st.button("Import and crop", key="ds_voc_go", type="primary", disabled=not counts):
        build(
            "Cropping VOC boxes",
            "Cropped",
            name,
            add,
            current,
            lambda ds, p: import_voc(path, ds, size=size, min_side=min_side, progress=p, label_map=mapping),
            name_field=("ds_voc", base),
        )
