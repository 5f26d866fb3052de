"""The annotator's Categories and Import / export tabs."""

from __future__ import annotations

import streamlit as st

from app.ui.common import flash, literal, show_error
from core.annotations import NONE
from core.errors import MaskStudioError
from core.formats import annotation_io
from core.formats.common import ImportResult
from core.projects import Project


def categories_panel(project: Project) -> None:
    ann = project.load()
    counts = ann.label_counts()
    st.markdown("**Categories** (boxes per category)")
    st.dataframe(
        [{"category": c, "boxes": counts.get(c, 0)} for c in ann.categories],
        hide_index=True,
        width="content",
    )
    c_add, c_ren, c_del = st.columns(3)
    with c_add.form("add_category", clear_on_submit=True):
        name = st.text_input("New category")
        if st.form_submit_button("Add category"):
            _change(project, lambda a: a.add_category(name), f"Added category {literal(name.strip())}.")
    editable = [c for c in ann.categories if c != NONE]
    with c_ren.form("rename_category", clear_on_submit=True):
        old = st.selectbox("Category to rename", editable, key="rename_old")
        new = st.text_input("New name")
        if st.form_submit_button("Rename", disabled=not editable) and old:
            _change(
                project, lambda a: a.rename_category(old, new), f"Renamed {literal(old)} to {literal(new)}."
            )
    with c_del.form("delete_category"):
        victim = st.selectbox("Category to delete", editable, key="delete_victim")
        sure = st.checkbox("Its boxes become “None”")
        if st.form_submit_button("Delete", disabled=not editable) and victim:
            if not sure:
                st.warning("Tick the box to confirm.")
            else:
                _change(project, lambda a: a.delete_category(victim), f"Deleted category {literal(victim)}.")
    st.caption('"None" is for boxes without a category; it cannot be renamed or deleted.')

    st.markdown("**Export categories**")
    cols = st.columns(3)
    for col, fmt in zip(cols, annotation_io.CATEGORY_FORMATS, strict=True):
        data, mime = annotation_io.export_categories(ann.categories, fmt)
        col.download_button(
            f"Categories as {fmt.upper()}", data, file_name=f"{project.name}_categories.{fmt}", mime=mime
        )
    up = st.file_uploader("Import categories (JSON or CSV)", type=["json", "csv"], key="cat_upload")
    if up is not None and st.button("Add these categories"):
        try:
            names = annotation_io.import_categories(up.name, up.getvalue())
            with project.edit() as saved:
                before = len(saved.categories)
                saved.merge_categories(names)
                added = len(saved.categories) - before
            flash("success", f"Imported {len(names)} categories ({added} new).")
            st.rerun()
        except MaskStudioError as exc:
            show_error(exc, "Nothing imported: ")


def _change(project: Project, action, message: str) -> None:  # noqa: ANN001
    try:
        with project.edit() as ann:
            action(ann)
    except MaskStudioError as exc:
        show_error(exc)
        return
    flash("success", message)
    st.rerun()


def import_export_panel(project: Project) -> None:
    ann = project.load()
    names = project.list_images()
    st.markdown("**Export annotations**")
    cols = st.columns(len(annotation_io.ANNOTATION_FORMATS))
    for col, (fmt, label) in zip(cols, annotation_io.ANNOTATION_FORMATS.items(), strict=True):
        try:
            data, file_name, mime = annotation_io.export_annotations(project, ann, fmt)
        except MaskStudioError as exc:
            col.caption(f"{label}: {exc}")
            continue
        col.download_button(label, data, file_name=file_name, mime=mime, key=f"export-{fmt}")

    st.markdown("**Import annotations**")
    fmt = st.selectbox(
        "Format", list(annotation_io.ANNOTATION_FORMATS), format_func=annotation_io.ANNOTATION_FORMATS.get
    )
    st.caption(annotation_io.IMPORT_HELP[fmt])
    up = st.file_uploader("Annotation file", type=annotation_io.IMPORT_TYPES[fmt], key=f"ann_upload_{fmt}")
    mode = st.radio("Existing boxes", ["Replace all", "Replace only the imported images"], horizontal=True)
    if up is not None and st.button("Import"):
        try:
            result: ImportResult = annotation_io.import_annotations(project, fmt, up.name, up.getvalue())
        except MaskStudioError as exc:
            show_error(exc, "Nothing imported, your annotations are unchanged: ")
            return
        project.import_annotations(result.annotations, replace=mode == "Replace all")
        unknown = sorted(set(result.annotations.images) - set(names))
        flash("success", f"Imported {result.box_count} boxes on {len(result.annotations.images)} images.")
        if unknown:
            flash("info", f"{len(unknown)} annotated image(s) are not in this project yet: add the files.")
        for msg in result.skipped[:20]:
            flash("warning", f"Skipped {msg}")
        st.rerun()
