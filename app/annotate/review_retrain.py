"""The Review section's "Retrain with my reviews": a run queued on the reviewed project's faces,
warm-started from the model that ranked them (core.review.retrain), a link to it in
Experiments → Queue, and, once it has finished and a scene set exists, the Experiments page's
scene test (app/experiments/scenes.py) on the model before and after."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.widgets.common import ROOT, literal, show_error
from app.widgets.scene_test import RESULT_KEY, SceneResult, run_scene_test, show_result
from core.annotation.projects import Project
from core.errors import MaskStudioError
from core.inference.scene_sets import load_scene_set
from core.review.queue import ACTIVE, Queue
from core.review.retrain import compare_scene_sets, retrain_with_reviews, reviewed_count
from core.runs.store import load_run
from core.vision.detectors import DEFAULT_PREDICT_DETECTOR

EXPERIMENTS_PAGE = ROOT / "pages" / "experiments.py"
LAST_RETRAIN = "rq_last_retrain"  # {"run_id", "before", "project", "dataset", "version", "warm_start"}


def _start(queue: Queue, target: str) -> None:
    try:
        with st.spinner("Building a dataset version with your reviews and queueing the run…"):
            done = retrain_with_reviews(
                target, model_ref=None if queue.model_ref == ACTIVE else queue.model_ref
            )
    except MaskStudioError as exc:
        show_error(exc)
        return
    st.session_state[LAST_RETRAIN] = {
        "run_id": done.run_id,
        "before": queue.model.run_id,
        "project": target,
        "dataset": done.dataset,
        "version": done.version,
        "warm_start": done.warm_start,
        "reviewed": done.reviewed,
    }


def _scene_test(last: dict, target: str) -> None:
    sets = compare_scene_sets(target)
    if not sets:
        st.caption(
            "No scene set to compare on: a project with labelled boxes other than this one (the "
            "Experiments scene test measures models on whole photos)."
        )
        return
    try:
        state = load_run(last["run_id"]).state
    except MaskStudioError:
        state = "gone"
    if state != "done":
        st.caption(
            f"When run {literal(last['run_id'])} has finished ({literal(state)} now), compare it here."
        )
        return
    before, after = last["before"], last["run_id"]
    if before == after:
        return
    scenes = st.selectbox("Scene set for the before/after test", sets, key="rq_scenes")
    try:
        scene_set = load_scene_set(scenes)
    except MaskStudioError as exc:
        show_error(exc, "These scenes cannot be used: ")
        return
    with st.expander(f"Scene test: {literal(before)} before, {literal(after)} after", expanded=False):
        # the Experiments page's scene test, on these two models (class mapping, leak check)
        run_scene_test([before, after], scene_set, DEFAULT_PREDICT_DETECTOR)
        result = st.session_state.get(RESULT_KEY)
        if (
            isinstance(result, SceneResult)
            and result.scene_set.source == scene_set.source
            and {sc.entry.ref for sc in result.scores} == {before, after}
        ):
            show_result(result)


def retrain_panel(queue: Queue, target: str) -> None:
    """The retrain button and what the last retrain queued."""
    st.subheader("Close the loop")
    try:
        count = reviewed_count(Project.open(target))
    except MaskStudioError as exc:
        show_error(exc)
        return
    st.caption(
        f"{count} reviewed face(s) in {literal(target)}. Retraining crops the boxes a person labelled "
        f"(reviewed or drawn; never a model's unchecked guess) into a new dataset version and queues a run warm-started from {literal(queue.model.run_id)}."
    )
    if st.button("Retrain with my reviews", key="rq_retrain", disabled=count == 0, type="primary"):
        _start(queue, target)
    last = st.session_state.get(LAST_RETRAIN)
    if not isinstance(last, dict) or last.get("project") != target:
        return
    st.success(
        literal(
            f"Run {last['run_id']} queued on {last['dataset']} {last['version']} ({last['reviewed']} reviewed "
            f"faces), starting from {last['warm_start']}."
        ),
        icon=":material/model_training:",
    )
    try:
        st.page_link(
            str(EXPERIMENTS_PAGE),
            label="Follow it in Experiments → Queue",
            icon=":material/arrow_forward:",
            query_params={"section": "queue"},
        )
    except StreamlitAPIException:  # the page is run on its own (tests): no navigation
        st.markdown("→ Follow it in **Experiments → Queue**")
    _scene_test(last, target)
