"""Models loaded once per server process (st.cache_resource), shared by pages: Predict, Live
and the annotator's "classify unlabelled boxes" get the same Classifier for the same run."""

from __future__ import annotations

import streamlit as st

from core.active_model import active_status
from core.classifier import AUTO, Classifier, run_model_path
from core.runs import run_path


@st.cache_resource(max_entries=4, show_spinner=False)
def _run_classifier(run_id: str, backend: str, model_mtime: float) -> Classifier:
    return Classifier.from_run(run_id, backend=backend)


def run_classifier(run_id: str, backend: str = AUTO) -> Classifier:
    """A finished run's classifier, loaded once per (run, backend, model file): reloaded when
    its model file changes."""
    mtime = run_model_path(run_path(run_id)).stat().st_mtime
    with st.spinner("Loading the model (the first load of a run exports a LiteRT copy: up to a minute)…"):
        return _run_classifier(run_id, backend, mtime)


def active_classifier() -> tuple[Classifier | None, str]:
    """(classifier of the active model or None, a sentence saying which model or why none)."""
    status = active_status()
    if status.run_id is None:
        why = status.reason or "no model is active yet"
        return None, f"No active model: {why}. Make a finished run active on the **Experiments** page."
    return run_classifier(status.run_id), f"Active model: run {status.run_id}."


@st.cache_data(max_entries=16, show_spinner=False)
def _suggested(run_id: str, backend: str, model_mtime: float, _classifier: Classifier) -> float | None:
    from core.errors import MaskStudioError
    from core.thresholds import run_threshold_report

    try:
        return run_threshold_report(_classifier, run_id).suggestion.threshold
    except MaskStudioError:
        return None


def suggested_threshold(run_id: str, classifier: Classifier) -> float | None:
    """The run's suggested 'uncertain' threshold (from its test split), None when unavailable."""
    mtime = run_model_path(run_path(run_id)).stat().st_mtime
    with st.spinner("Measuring the model's suggested threshold on its test split…"):
        return _suggested(run_id, classifier.backend, mtime, classifier)
