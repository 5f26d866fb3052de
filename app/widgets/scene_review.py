"""The scene test's "Open in the annotator": a project photo opens where it is; a VOC photo and
its labelled boxes are copied into a review project `scene-review-<date>` first (the source
project or folder is never written to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.widgets.common import ANNOTATE_PAGE, flash, literal, show_error
from core.errors import MaskStudioError
from core.inference.predict_io import open_or_create, send_to_annotator
from core.inference.scene_scores import PhotoScore
from core.inference.scene_sets import SceneSet

REVIEW_PREFIX = "scene-review-"


@dataclass(frozen=True)
class _Truth:
    """A labelled face as send_to_annotator takes it (no confidence: a person labelled it)."""

    xyxy: tuple[float, float, float, float]
    label: str


def review_project_name(day: date | None = None) -> str:
    return f"{REVIEW_PREFIX}{(day or date.today()).isoformat()}"


def copy_for_review(photo: PhotoScore, day: date | None = None) -> tuple[str, str]:
    """Copy a VOC photo and its labelled boxes into today's review project (created when
    missing; a photo already there is not copied again). Returns (project, image name)."""
    name = review_project_name(day)
    project = open_or_create(name)
    if photo.name in project.list_images():
        return project.name, photo.name
    truths = [_Truth(t.xyxy, t.label) for t in photo.truths]
    labels = list(dict.fromkeys(t.label for t in photo.truths))
    report = send_to_annotator(project, photo.name, photo.path.read_bytes(), truths, add_categories=labels)
    for msg in report.refused:
        flash("warning", f"Not added: {msg}")
    return report.project, report.image


def open_in_annotator(scene_set: SceneSet, photo: PhotoScore) -> None:
    """Open the photo on the Annotate page (a VOC photo is copied into a review project first)."""
    try:
        if scene_set.kind == "project":
            project, image = scene_set.source, photo.name
        else:
            project, image = copy_for_review(photo)
            flash("success", f"Copied {image} and its labelled boxes into project {project}.")
    except (MaskStudioError, OSError) as exc:
        show_error(exc, "Cannot open it in the annotator: ")
        return
    try:
        st.switch_page(ANNOTATE_PAGE, query_params={"project": project, "image": image})
    except StreamlitAPIException:  # the annotator is not a page of this app (AppTest)
        st.success(literal(f"Open project {project}, image {image} on the Annotate page."))
