"""The annotator's "classify unlabelled boxes" panel, using the active model (else the
starter model shipped with the app)."""

from __future__ import annotations

import streamlit as st

from app.widgets.common import flash, show_error
from app.widgets.models import active_classifier
from core.annotation.projects import Project
from core.errors import MaskStudioError
from core.inference.classify_boxes import classify_unlabelled, map_labels
from core.inference.predictor import DEFAULT_THRESHOLD
from core.runs.active_model import active_status


def classify_panel(project: Project, image: str, names: list[str], categories: list[str]) -> bool:
    """Widgets for the action (`categories`: the project's, as this run loaded them); True when
    boxes were changed (the caller reruns)."""
    try:
        classifier, about, suggested = active_classifier()
    except MaskStudioError as exc:
        show_error(exc, "The active model cannot be loaded: ")
        return False
    run_id = active_status().run_id
    (st.info if classifier is not None and run_id is None else st.caption)(about)
    if classifier is None:
        return False
    mapping = map_labels(classifier.labels, categories)
    if mapping.message:
        (st.error if not mapping.matched else st.warning)(mapping.message)
    default = DEFAULT_THRESHOLD if suggested is None else float(suggested)
    whose = f"run {run_id}" if run_id else "the starter model"
    threshold = st.slider(
        "Confidence threshold",
        0.0,
        1.0,
        float(default),
        0.01,
        key=f"classify_threshold:{run_id or 'starter'}",
        help='Boxes predicted with less confidence stay "None". '
        + (
            f"Starts at the threshold suggested for {whose} ({default:.2f}), as on Predict."
            if suggested is not None
            else f"No suggested threshold is known for {whose}; it starts at {default:.2f}."
        ),
    )
    c1, c2 = st.columns(2)
    targets = None
    if c1.button("This image", key="classify_one", width="stretch", disabled=not mapping.matched):
        targets = [image]
    if c2.button("All images", key="classify_all", width="stretch", disabled=not mapping.matched):
        targets = names
    if not targets:
        return False
    try:
        with st.spinner("Classifying boxes…"):
            report = classify_unlabelled(project, targets, classifier, threshold)
    except MaskStudioError as exc:
        show_error(exc)
        return False
    flash(
        "success",
        f"Labelled {report.labelled} of {report.candidates} unlabelled box(es); "
        f'{report.uncertain} under the threshold and {report.unmapped} with an unknown label stay "None".',
    )
    for msg in report.failed:
        flash("error", f"Skipped: {msg}")
    return True
