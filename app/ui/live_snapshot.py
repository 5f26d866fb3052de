"""Live's snapshot: the last processed raw frame, with its predicted boxes as pre-annotations,
saved into an annotation project (training data collected from the camera)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import streamlit as st

from app.ui.common import literal, show_error
from app.ui.target_project import choose_target
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.inference.predictor import FACE
from core.live.processor import LiveProcessor
from core.live.snapshots import label_fit, save_snapshot

PREDICTED = "(the predicted class)"
PENDING_KEY = "_live_snap_created"


class SnapshotTarget:
    """The sidebar's snapshot settings: project, new name, label override, missing classes."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = tuple(label for label in labels if label != FACE)
        sb = st.sidebar
        sb.header("Snapshot")
        pending = st.session_state.pop(PENDING_KEY, None)
        if pending in list_projects():  # a project created by the last snapshot: keep saving there
            st.session_state["live_snap_project"] = pending
        self.choice = choose_target("live_snap", "snapshots", "Save snapshots to project")
        self.project = self.choice.project
        self.categories: list[str] = []
        if not self.choice.is_new:
            try:
                self.categories = Project.open(self.project).load().categories
            except MaskStudioError as exc:
                show_error(exc)
        options = [PREDICTED, *self.categories]
        self.label = sb.selectbox(
            "Label the faces as",
            options,
            key=f"live_snap_label:{self.project}",
            help="The predicted class (mapped to the project's category of the same name, else "
            "'None'), or one category for every face: hold a class in front of the camera and "
            "collect examples of it.",
        )
        self.add_missing = bool(self.labels) and sb.checkbox(
            "Add the model's classes missing from the project",
            value=True,
            key="live_snap_add",
            help="Otherwise a predicted class the project lacks, and every uncertain face, becomes 'None'.",
        )
        if self.labels and self.categories and not self.add_missing and self.label == PREDICTED:
            _, unknown = label_fit(self.labels, self.categories)
            if unknown:
                sb.caption(
                    f"No category for {', '.join(literal(u) for u in unknown)} in this project: "
                    "those faces will be saved as 'None'."
                )

    def open(self) -> Project | None:
        """The chosen project (created when new), or None after saying why not."""
        if (why := self.choice.blocked) is not None:
            st.warning(why)
            return None
        return self.choice.open()


def snapshot_button(proc: LiveProcessor, target: SnapshotTarget) -> None:
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
        report = save_snapshot(
            project,
            snap,
            add_categories=target.labels if target.add_missing else (),
            label=None if target.label == PREDICTED else target.label,
        )
    except MaskStudioError as exc:
        show_error(exc, "Snapshot not saved: ")
        return
    if target.choice.is_new:
        st.session_state[PENDING_KEY] = report.project
    link = "annotate?" + urlencode({"project": report.project, "image": report.image})
    st.success(
        f"Saved {literal(report.image)} to project {literal(report.project)} with {report.added} "
        f"box(es). [Open it in the annotator]({link})",
        icon=":material/check_circle:",
    )
    for msg in report.refused:
        st.warning(f"Not added: {literal(msg)}")
    unknown = sorted(k for k, v in report.mapping.items() if v == "None" and k != FACE)
    if unknown:
        st.info(
            f"Saved as 'None' (no such category in the project): {', '.join(literal(u) for u in unknown)}."
        )
