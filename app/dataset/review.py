"""Review: a paged thumbnail grid of one class (or the unlabelled bin); move selected images to
another class, or delete them."""

from __future__ import annotations

import streamlit as st

from app.dataset.common import GRID, edit, show_thumb
from app.widgets.common import literal
from core.data.dataset import UNLABELLED, Dataset, label_folder, paginate

NEW_CLASS = "(new class…)"
PER_PAGE = [24, 48, 96]


def select_key(rel: str) -> str:
    """The Session State key of an image's selection checkbox."""
    return f"ds_sel::{rel}"


def short_name(rel: str, width: int = 13) -> str:
    """The file name without extension, cut at the front when long (a grid cell fits about 13
    characters): the end, with the box number, is what tells crops apart."""
    name = rel.split("/", 1)[-1].rsplit(".", 1)[0]
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def set_selection(rels: list[str], value: bool) -> None:
    """Tick or untick images (a button callback: it runs before the widgets are drawn)."""
    for rel in rels:
        st.session_state[select_key(rel)] = value


def review_section(ds: Dataset) -> None:
    classes = ds.classes()
    bins = classes + [UNLABELLED]
    label = st.selectbox(
        "Class",
        bins,
        index=len(bins) - 1 if ds.unlabelled() else 0,  # crops waiting for a class come first
        key=f"ds_rev_class_{ds.name}",
        format_func=lambda c: (
            f"unlabelled bin ({len(ds.unlabelled())})" if c == UNLABELLED else f"{c} ({len(ds.files(c))})"
        ),
    )
    files = ds.files(label)
    c1, c2 = st.columns(2)
    per_page = int(c1.selectbox("Per page", PER_PAGE, key="ds_rev_per"))
    pages = max(1, -(-len(files) // per_page))
    page = int(c2.number_input(f"Page (of {pages})", 1, pages, 1, key=f"ds_rev_page_{ds.name}_{label}")) - 1
    shown, page, pages = paginate(files, page, per_page)
    if not shown:
        st.info(
            "The unlabelled bin is empty: auto-crop fills it (Build → Auto-crop)."
            if label == UNLABELLED
            else "No images here."
        )
        return
    grid(ds, shown)
    chosen = [rel for rel in shown if st.session_state.get(select_key(rel))]
    actions(ds, label, classes, shown, chosen)


def grid(ds: Dataset, shown: list[str]) -> None:
    """Thumbnails with a checkbox named after the file."""
    for start in range(0, len(shown), GRID):
        for col, rel in zip(st.columns(GRID), shown[start : start + GRID], strict=False):
            with col:
                show_thumb(ds, rel)
                st.checkbox(literal(short_name(rel)), key=select_key(rel))


def actions(ds: Dataset, label: str, classes: list[str], shown: list[str], chosen: list[str]) -> None:
    """Selection buttons, and moving or deleting the chosen images."""
    c0, c1, c2 = st.columns([2, 1, 1], vertical_alignment="bottom")
    c0.markdown(f"**{len(chosen)} selected** on this page")
    c1.button("Select all on this page", key="ds_rev_all", on_click=set_selection, args=(shown, True))
    c2.button("Clear selection", key="ds_rev_none", on_click=set_selection, args=(shown, False))
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    dest = c1.selectbox("Move to class", [c for c in classes if c != label] + [NEW_CLASS], key="ds_rev_dest")
    if dest == NEW_CLASS:
        dest = c1.text_input("New class name", key="ds_rev_new").strip()
    if c2.button("Move selected", key="ds_rev_move", disabled=not (chosen and dest)):
        edit(ds, chosen, lambda rel: ds.move(rel, dest), f"Moved {{n}} image(s) to {label_folder(dest)}.")
    if c3.button("Delete selected", key="ds_rev_del", disabled=not chosen):
        edit(ds, chosen, ds.delete, "Deleted {n} image(s).")
