"""The label mapping shown before an import: each source class, how many items it holds, and the
class it becomes in the dataset (edit to merge classes, empty to leave one out)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.widgets.common import literal
from core.inference.scene_sets import default_mapping


def suggested_mapping(classes: list[str], targets: list[str]) -> dict[str, str]:
    """Each class to the dataset class of the same name or a known alias (so adding VOC crops
    to a with_mask/without_mask set maps `mask_weared_incorrect` to `with_mask`); a class with
    no match keeps its own name."""
    found = default_mapping(classes, targets) if targets else {}
    return {c: found.get(c) or c for c in classes}


def label_map_editor(
    key: str, counts: dict[str, int], targets: list[str], unit: str = "boxes"
) -> dict[str, str | None]:
    """An editable table {source class: dataset class or None (left out)}."""
    classes = list(counts)
    suggested = suggested_mapping(classes, targets)
    frame = pd.DataFrame(
        {"class": classes, unit: [counts[c] for c in classes], "becomes": [suggested[c] for c in classes]}
    )
    edited = st.data_editor(
        frame,
        key=f"{key}_labelmap::{'|'.join(classes)}::{'|'.join(targets)}",
        hide_index=True,
        disabled=["class", unit],
        column_config={
            "class": st.column_config.TextColumn("class in the source"),
            "becomes": st.column_config.TextColumn(
                "becomes (empty: left out)", help="Type an existing class to merge into it"
            ),
        },
        width="stretch",
    )
    mapping: dict[str, str | None] = {}
    for row in edited.itertuples(index=False):
        value = str(row.becomes).strip() if isinstance(row.becomes, str) else ""
        mapping[str(row[0])] = value or None
    merged = [f"{literal(c)} → {literal(t)}" for c, t in mapping.items() if t and t != c]
    dropped = [literal(c) for c, t in mapping.items() if not t]
    if merged:
        st.caption("Renamed or merged: " + ", ".join(merged) + ".")
    if dropped:
        st.caption("Left out: " + ", ".join(dropped) + ".")
    return mapping
