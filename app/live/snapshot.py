"""Live's snapshot: the last processed raw frame, with its predicted boxes as pre-annotations,
saved into the sidebar's annotation project (app.widgets.target_project): training data collected
from the camera."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from app.widgets.common import literal, show_error
from app.widgets.target_project import ProjectTarget, unlabelled
from core.errors import MaskStudioError
from core.live.processor import LiveProcessor
from core.live.snapshots import save_snapshot


def snapshot_button(proc: LiveProcessor, target: ProjectTarget) -> None:
    """The Snapshot button and what saving did."""
    if not st.button("Snapshot", icon=":material/add_a_photo:", key="live_snapshot"):
        return
    snap = proc.snapshot()
    if snap is None:
        st.warning("No frame yet: press START and wait for the first boxes, then take the snapshot.")
        return
    try:
        project = target.open()
        if project is None:
            return
        report = save_snapshot(project, snap, add_categories=target.add_categories, label=target.label)
    except MaskStudioError as exc:
        show_error(exc, "Snapshot not saved: ")
        return
    target.saved_into(report.project)
    link = "annotate?" + urlencode({"project": report.project, "image": report.image})
    st.success(
        f"Saved {literal(report.image)} to project {literal(report.project)} with {report.added} "
        f"box(es). [Open it in the annotator]({link})",
        icon=":material/check_circle:",
    )
    for msg in report.refused:
        st.warning(f"Not added: {literal(msg)}")
    if unknown := unlabelled(report.mapping):
        st.info(
            f"Saved as 'None' (no such category in the project): {', '.join(literal(u) for u in unknown)}."
        )
