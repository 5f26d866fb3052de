"""Detector picker and the pre-annotate action, shared by pages."""

from __future__ import annotations

import streamlit as st

from app.widgets.common import flash, show_error
from core.annotation.preannotate import preannotate
from core.annotation.projects import Project
from core.errors import MaskStudioError
from core.vision.detectors import DEFAULT_DETECTOR, DETECTORS, get_detector


def detector_choice(key: str, default: str = DEFAULT_DETECTOR, *, sidebar: bool = False) -> str:
    """A selectbox of the registered face detectors, with their descriptions; returns the chosen name."""
    names = list(DETECTORS)
    where = st.sidebar if sidebar else st
    return where.selectbox(
        "Face detector",
        names,
        index=names.index(default) if default in names else 0,
        format_func=lambda n: f"{n}: {DETECTORS[n].help}",
        key=key,
    )


def preannotate_images(project: Project, images: list[str], detector_name: str) -> bool:
    """Run pre-annotation with a spinner and queue its outcome for the rerun the caller does when
    this returns True; a detector that cannot be loaded is shown here, and False returned."""
    try:
        detector = get_detector(detector_name)
    except MaskStudioError as exc:
        show_error(exc)
        return False
    with st.spinner(f"Finding faces on {len(images)} image(s)…"):
        report = preannotate(project, images, detector)
    flash("success", f"Pre-annotation added {report.added} face box(es) on {report.images} image(s).")
    if report.refused:
        flash("info", f"{len(report.refused)} face(s) not added (already boxed or too small).")
    for msg in report.failed:
        flash("error", f"Skipped: {msg}")
    return True
