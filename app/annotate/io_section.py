"""The annotator's Categories and Import / export tabs."""

from __future__ import annotations

import hashlib

import streamlit as st

from app.widgets.common import flash, literal, show_error
from core.annotation.annotations import NONE
from core.annotation.formats import annotation_io
from core.annotation.formats.common import ImportResult
from core.annotation.projects import Project
from core.errors import MaskStudioError


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
            _change(project, lambda a: a.add_category(name), f"Added category {name.strip()}.")
    editable = [c for c in ann.categories if c != NONE]
    with c_ren.form("rename_category", clear_on_submit=True):
        old = st.selectbox("Category to rename", editable, key="rename_old")
        new = st.text_input("New name")
        if st.form_submit_button("Rename", disabled=not editable) and old:
            _change(project, lambda a: a.rename_category(old, new), f"Renamed {old} to {new}.")
    with c_del.form("delete_category"):
        victim = st.selectbox("Category to delete", editable, key="delete_victim")
        sure = st.checkbox("Its boxes become “None”")
        if st.form_submit_button("Delete", disabled=not editable) and victim:
            if not sure:
                st.warning("Tick the box to confirm.")
            else:
                _change(project, lambda a: a.delete_category(victim), f"Deleted category {victim}.")
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


def _change(project: Project, action, message: str) -> None:
    try:
        with project.edit() as ann:
            action(ann)
    except MaskStudioError as exc:
        show_error(exc)
        return
    flash("success", message)
    st.rerun()


_RULE_CHOICES = {
    "apply": "Apply the box rules (skip boxes that break them)",
    "flag": "Keep all boxes, flag rule breakers (nested, overlapping or tiny objects)",
}


def _export_options() -> annotation_io.ExportOptions:
    c_none, c_val, c_seed, c_img = st.columns(4)
    include_none = c_none.checkbox(
        "Include “None” boxes", help="Written as the last class, so other class indices do not move."
    )
    val = c_val.number_input(
        "YOLO val fraction",
        min_value=0.0,
        max_value=0.9,
        value=0.0,
        step=0.05,
        help="0 puts every image in train (data.yaml then uses train for val too); otherwise a seeded "
        "random share of the images goes to val. Annotation projects have no split manifest.",
    )
    seed = c_seed.number_input("Split seed", min_value=0, value=0, step=1)
    with_images = c_img.checkbox("COCO: images in a zip")
    return annotation_io.ExportOptions(include_none, float(val), int(seed), with_images)


class _NotPrepared(Exception):
    pass


def _prepared(project: Project, ann, fmt: str, label: str, options, col):
    """An export that zips the images, made on request and kept for these exact options."""
    key = f"export-{project.name}-{fmt}"
    saved = project.annotations_path  # keyed by the saved file's content
    digest = hashlib.sha1(saved.read_bytes()).hexdigest() if saved.exists() else ""
    want = (repr(options), digest, tuple(project.list_images()))
    held = st.session_state.get(key)
    if held is not None and held[0] == want:
        return held[1]
    if not col.button(f"Prepare {label}", key=f"prepare-{fmt}"):
        raise _NotPrepared
    out = annotation_io.export_annotations(project, ann, fmt, options)
    st.session_state[key] = (want, out)
    return out


def import_export_panel(project: Project) -> None:
    ann = project.load()
    names = project.list_images()
    st.markdown("**Export annotations**")
    options = _export_options()
    cols = st.columns(len(annotation_io.ANNOTATION_FORMATS))
    for col, (fmt, label) in zip(cols, annotation_io.ANNOTATION_FORMATS.items(), strict=True):
        heavy = fmt == "yolo" or (fmt == "coco" and options.with_images)  # zips the images
        try:
            if heavy:
                data, file_name, mime = _prepared(project, ann, fmt, label, options, col)
            else:
                data, file_name, mime = annotation_io.export_annotations(project, ann, fmt, options)
        except _NotPrepared:
            continue
        except MaskStudioError as exc:
            col.caption(literal(f"{label}: {exc}"))
            continue
        col.download_button(label, data, file_name=file_name, mime=mime, key=f"export-{fmt}")
    if ann.flagged_count():
        st.caption(f"{ann.flagged_count()} boxes are flagged as breaking a box rule; exports write them.")

    st.markdown("**Import annotations**")
    fmt = st.selectbox(
        "Format", list(annotation_io.ANNOTATION_FORMATS), format_func=annotation_io.ANNOTATION_FORMATS.get
    )
    st.caption(annotation_io.IMPORT_HELP[fmt])
    up = st.file_uploader("Annotation file", type=annotation_io.IMPORT_TYPES[fmt], key=f"ann_upload_{fmt}")
    rules = st.radio("Box rules", list(_RULE_CHOICES), format_func=_RULE_CHOICES.get, key="import_rules")
    origin = "auto"
    if fmt == "voc":
        origin = st.selectbox(
            "VOC coordinates",
            list(annotation_io.VOC_ORIGINS),
            format_func=annotation_io.VOC_ORIGINS.get,
            key="import_voc_origin",
        )
    annotator: str | int = "merge"
    if fmt == "coco" and up is not None:
        try:
            count = annotation_io.coco_annotators(up.name, up.getvalue(), names)
        except MaskStudioError:
            count = 1  # the import below reports the error
        if count > 1:
            choices: list[str | int] = ["merge", *range(1, count + 1)]
            annotator = st.radio(
                f"Images are listed up to {count} times (Label Studio: one entry per annotator)",
                choices,
                format_func=lambda c: (
                    "Merge the annotators' boxes" if c == "merge" else f"Annotator {c} only"
                ),
                horizontal=True,
                key="import_annotator",
            )
    mode = st.radio(
        "Existing boxes",
        list(_MODES),
        format_func=_MODES.get,
        horizontal=True,
        key="import_mode",
        help="Only the imported images: each imported image gets exactly the imported boxes, every "
        "other image keeps its own. Everything: the project becomes the imported file (asks first).",
    )
    if up is not None and st.button("Import", key="import_go"):
        opts = annotation_io.ImportOptions(rules=rules, annotator=annotator, voc_origin=origin)
        try:
            result: ImportResult = annotation_io.import_annotations(
                project, fmt, up.name, up.getvalue(), opts
            )
        except MaskStudioError as exc:
            show_error(exc, "Nothing imported, your annotations are unchanged: ")
            return
        if mode == "all":  # destructive: asks first, with what it removes
            st.session_state[PENDING] = {"project": project.name, "fmt": fmt, "result": result}
        else:
            _apply_import(project, fmt, result, names, replace=False)
    _confirm_replace_all(project, names)


#: How an import treats the project's existing boxes; the first is the default.
_MODES = {"only": "Replace only the imported images", "all": "Replace everything"}
PENDING = "import_replace_all_pending"
_SHORT = {"seed": "seed JSON", "coco": "COCO", "voc": "VOC", "yolo": "YOLO"}


def _confirm_replace_all(project: Project, names: list[str]) -> None:
    """The confirm step of "Replace everything": how many boxes on how many other images go."""
    pending = st.session_state.get(PENDING)
    if not pending or pending["project"] != project.name:
        return
    result: ImportResult = pending["result"]
    boxes, images = project.replace_all_loss(result.annotations)
    st.warning(
        f"Replace everything? {boxes} box(es) on {images} other image(s) will be deleted, and the "
        f"categories become the imported file's. Undo can bring them back.",
        icon=":material/warning:",
    )
    c_yes, c_no = st.columns(2)
    if c_yes.button("Yes, replace everything", type="primary", key="import_confirm_all"):
        st.session_state.pop(PENDING, None)
        _apply_import(project, pending["fmt"], result, names, replace=True)
    if c_no.button("Cancel", key="import_cancel_all"):
        st.session_state.pop(PENDING, None)
        flash("info", "Nothing imported, your annotations are unchanged.")
        st.rerun()


def _apply_import(
    project: Project, fmt: str, result: ImportResult, names: list[str], *, replace: bool
) -> None:
    boxes, images = result.box_count, len(result.annotations.images)
    summary = f"import {_SHORT.get(fmt, fmt)}: {boxes} boxes on {images} images"
    try:
        project.import_annotations(
            result.annotations,
            replace=replace,
            summary=summary + (", replacing everything" if replace else ""),
        )
    except MaskStudioError as exc:
        show_error(exc, "Nothing imported: ")
        return
    unknown = sorted(set(result.annotations.images) - set(names))
    kept = "" if replace else " Other images kept their boxes."
    flash("success", f"Imported {result.summary()}{kept} Undo takes it back.")
    for note in result.notes:
        flash("info", note)
    if unknown:
        flash("info", f"{len(unknown)} annotated image(s) are not in this project yet: add the files.")
    for msg in result.skipped[:20]:
        flash("warning", f"Skipped {msg}")
    if len(result.skipped) > 20:
        flash("warning", f"… and {len(result.skipped) - 20} more skipped.")
    st.rerun()
