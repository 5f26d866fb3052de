"""The Review section's "Retrain with my reviews": a run queued on the reviewed project's faces,
warm-started from the model that ranked them (core.review.retrain), a link to it in
Experiments → Queue, and, once it has finished and a scene set exists, the Experiments scene
test opened on the model before and after."""

from __future__ import annotations

import streamlit as st

from app.ui.common import ROOT, literal, show_error
from core.annotation.projects import Project
from core.errors import MaskStudioError
from core.review.queue import ACTIVE, Queue
from core.review.retrain import compare_scene_sets, retrain_with_reviews, reviewed_count
from core.runs.store import load_run

EXPERIMENTS_PAGE = ROOT / "pages" / "experiments.py"
LAST_RETRAIN = "rq_retrain"  # {"run_id", "before", "project", "dataset", "version", "warm_start"}


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


def _open_scene_test(before: str, after: str, scenes: str) -> None:
    """The Experiments page's Scene test, with the two models and the scene project chosen."""
    st.session_state["scene_models"] = [before, after]
    st.session_state["scene_kind"] = "A project with labelled boxes"
    st.session_state["scene_project"] = scenes
    st.switch_page(EXPERIMENTS_PAGE, query_params={"section": "scene test"})


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
    c_set, c_go = st.columns([2, 1], vertical_alignment="bottom")
    scenes = c_set.selectbox("Scene set", sets, format_func=literal, key="rq_scenes")
    if c_go.button("Scene test: before and after", key="rq_scene_test", width="stretch"):
        _open_scene_test(last["before"], last["run_id"], scenes)


def retrain_panel(queue: Queue, target: str) -> None:
    """The retrain button and what the last retrain queued."""
    st.subheader("Close the loop")
    try:
        count = reviewed_count(Project.open(target))
    except MaskStudioError as exc:
        show_error(exc)
        return
    st.caption(
        f"{count} reviewed face(s) in {literal(target)}. Retraining crops the project's labelled boxes "
        f"into a new dataset version and queues a run warm-started from {literal(queue.model.run_id)}."
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
    st.page_link(
        str(EXPERIMENTS_PAGE),
        label="Follow it in Experiments → Queue",
        icon=":material/arrow_forward:",
        query_params={"section": "queue"},
    )
    _scene_test(last, target)
