"""Experiments page, "Scene test" tab: finished runs (and the starter model) scored on whole
photos through the Predict pipeline (core.inference.scenes), side by side with their crop test metrics.

Pick the models, the scenes (a project with labelled boxes, or a Pascal VOC folder) and the
detector; map scene classes to each model's classes where they differ; leaked photos are refused
unless "evaluate anyway" is ticked (then the figures are marked as leaked). The result stays in
session state, so it survives reruns, and the photos with the most errors open in the annotator.
Each model scored without leaks keeps its found-and-right as its last scene figure
(core.runs.scene_figures), shown beside its name on Predict and Live and when it is made active.
"""

from __future__ import annotations

import streamlit as st

from app.widgets.common import literal, show_error
from app.widgets.faces import detector_choice
from app.widgets.model_picker import run_option
from app.widgets.scene_test import RESULT_KEY, SceneResult, run_scene_test, show_result
from core.errors import MaskStudioError
from core.inference.scene_sets import (
    SceneSet,
    load_scene_set,
    scene_sources,
)
from core.inference.scenes import (
    STARTER,
)
from core.runs.active_model import finished_runs, get_active
from core.runs.starter import starter_status
from core.vision.detectors import DEFAULT_PREDICT_DETECTOR

PROJECT, VOC = "A project with labelled boxes", "A Pascal VOC folder"


# ----- choices ------------------------------------------------------------------------------
def _choose_models() -> list[str]:
    runs = finished_runs()
    options = {r.run_id: run_option(r, "crop test acc") for r in runs}
    status = starter_status()
    if status.available:
        options[STARTER] = "Starter model"
    if not options:
        st.info("No finished run yet, and the starter model is not available: train a run in the Launch tab.")
        return []
    active = get_active()
    default = [active] if active in options else [r.run_id for r in runs[:1]]
    default += [STARTER] if STARTER in options else []
    refs = st.multiselect(
        "Models to score",
        list(options),
        default=default,
        format_func=options.__getitem__,
        key="scene_models",
        help="Finished runs, and the starter model shipped with the app.",
    )
    if not status.available:
        st.caption(f"The starter model is not available: {literal(status.reason or 'unknown reason')}.")
    return refs


def _choose_scenes() -> SceneSet | None:
    kind = st.radio("Scenes from", [PROJECT, VOC], horizontal=True, key="scene_kind")
    if kind == PROJECT:
        sources = scene_sources()
        if not sources:
            st.info(
                "No project has labelled boxes yet: label some faces on the Annotate page, "
                "or choose a Pascal VOC folder."
            )
            return None
        source = st.selectbox("Project", sources, key="scene_project")
    else:
        source = st.text_input(
            "VOC folder (XML annotations and their images, anywhere under it)",
            key="scene_voc",
            placeholder="/data/face_mask_detection_voc",
        ).strip()
        if not source:
            st.info("Type the path of a Pascal VOC folder.")
            return None
    try:
        scene_set = load_scene_set(source)
    except MaskStudioError as exc:
        show_error(exc, "These scenes cannot be used: ")
        return None
    classes = ", ".join(f"{literal(c)} {n}" for c, n in scene_set.classes.items())
    st.caption(f"{len(scene_set.scenes)} photos, {scene_set.faces} labelled faces ({classes}).")
    if scene_set.skipped:
        st.warning(literal(f"{len(scene_set.skipped)} photo(s) skipped: {'; '.join(scene_set.skipped[:5])}"))
        if len(scene_set.skipped) > 5:
            with st.expander("Every skipped photo"):
                st.text("\n".join(scene_set.skipped))
    return scene_set


# ----- the section --------------------------------------------------------------------------
def scene_section() -> None:
    st.caption(
        "Scores models on whole photos, as Predict sees them: detector, square crop, classifier, "
        "threshold; faces matched to the labelled boxes at IoU ≥ 0.5. Crop test accuracy alone "
        "says little about real photos."
    )
    refs = _choose_models()
    scene_set = _choose_scenes()
    detector = detector_choice("scene_detector", DEFAULT_PREDICT_DETECTOR)
    if refs and scene_set is not None:
        run_scene_test(refs, scene_set, detector)
    result = st.session_state.get(RESULT_KEY)
    if isinstance(result, SceneResult):
        show_result(result)
