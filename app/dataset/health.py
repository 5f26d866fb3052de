"""Health: counts and imbalance, label leaks, size and format charts, duplicates, unreadable
and tiny files, with the actions that fix what can be fixed safely."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.dataset.common import GRID, edit, progress, show_thumb
from app.widgets import charts
from app.widgets.common import flash, literal
from core.data.dataset import Dataset, paginate
from core.data.health import HealthReport, health_report, remove_exact_duplicates

GROUPS_PER_PAGE = 5
LEAK_HELP = (
    "A **label leak** is something other than the face that gives the class away, such as the "
    "file format or the image size. A model learns that shortcut instead of the mask and then "
    "fails on camera frames, where every face looks alike in format and size."
)


def health_section(ds: Dataset) -> None:
    with progress("Reading files") as update:
        report = health_report(ds, progress=update)
    if not report.files:
        st.info("This dataset has no images in class folders yet.")
        return
    metrics(report)
    if report.leaks:
        st.markdown(LEAK_HELP)
    for leak in report.leaks:
        st.warning(literal(f"Label leak: {leak.message}"), icon=":material/warning:")
    for text in report.warnings()[len(report.leaks) :]:
        st.info(text)  # class names are safe folder names
    if not report.warnings():
        st.success("No problem found: no leak, no duplicate, no unreadable file, classes balanced.")
    health_charts(report)
    duplicates(ds, report)
    bad_files(ds, report)


def metrics(report: HealthReport) -> None:
    values = [
        ("Images", len(report.files)),
        ("Classes", len(report.counts)),
        ("Imbalance", f"{report.imbalance:.1f}×"),
        ("Exact copies", sum(len(g.paths) - 1 for g in report.exact_duplicates)),
        ("Near-dup groups", len(report.near_duplicates)),
        ("Unreadable", len(report.unreadable)),
    ]
    for col, (what, value) in zip(st.columns(len(values)), values, strict=True):
        col.metric(what, value)


def health_charts(report: HealthReport) -> None:
    rows = report.rows()
    classes = list(report.counts)
    left, right = st.columns(2)
    left.plotly_chart(charts.class_counts_figure(report.counts), key="ds_h_counts")
    right.plotly_chart(charts.format_figure(rows), key="ds_h_fmt")
    left.plotly_chart(charts.short_side_figure(rows, classes), key="ds_h_size")
    right.plotly_chart(charts.aspect_figure(rows, classes), key="ds_h_aspect")


def duplicates(ds: Dataset, report: HealthReport) -> None:
    within = sum(len(g.paths) - len(set(g.labels)) for g in report.exact_duplicates)
    if report.exact_duplicates:
        st.subheader("Exact duplicates")
        if st.button(
            f"Remove {within} extra copies (keep one per class)", key="ds_dedup", disabled=not within
        ):
            removed = remove_exact_duplicates(ds, report)
            flash("success", f"Removed {len(removed)} duplicate file(s).")
            st.rerun()
        if any(g.cross_class for g in report.exact_duplicates):
            st.caption(
                "Copies in different classes are left for you: delete the wrong one below or in Review."
            )
    exact = {id(g) for g in report.exact_duplicates}
    groups = sorted(report.exact_duplicates + report.near_duplicates, key=lambda g: not g.cross_class)
    if not groups:
        return
    st.subheader(f"Duplicate groups ({len(groups)}; across classes first)")
    st.caption(
        "Near-duplicates are kept together on one side of a split, so they never leak between "
        "train and test; delete one only if it adds nothing."
    )
    pages = -(-len(groups) // GROUPS_PER_PAGE)
    page = int(st.number_input(f"Group page (of {pages})", 1, pages, 1, key="ds_dup_pg")) if pages > 1 else 1
    shown, _, _ = paginate(groups, page - 1, GROUPS_PER_PAGE)
    for g in shown:
        kind = "exact copies" if id(g) in exact else "near-duplicates"
        where = "across classes: " + ", ".join(sorted(set(g.labels))) if g.cross_class else g.labels[0]
        st.markdown(f"**{len(g.paths)} {kind}** · {literal(where)}")
        for col, rel in zip(st.columns(GRID), g.paths[:GRID], strict=False):
            with col:
                show_thumb(ds, rel, caption=rel)
                if st.button("Delete", key=f"ds_dup_del::{rel}"):
                    edit(ds, [rel], ds.delete, f"Deleted {rel}.")
        st.divider()


def bad_files(ds: Dataset, report: HealthReport) -> None:
    if not (report.unreadable or report.tiny):
        return
    with st.expander(f"Unreadable ({len(report.unreadable)}) and tiny ({len(report.tiny)}) files"):
        st.dataframe(
            pd.DataFrame(
                [
                    {"path": f.path, "problem": f.error or f"{f.width}×{f.height} px"}
                    for f in report.unreadable + report.tiny
                ]
            ),
            hide_index=True,
        )
        if report.unreadable and st.button("Delete the unreadable files", key="ds_del_bad"):
            edit(ds, [f.path for f in report.unreadable], ds.delete, "Deleted {n} unreadable file(s).")
