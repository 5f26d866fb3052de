"""Models loaded once per server process (st.cache_resource), shared by pages."""

from __future__ import annotations

import streamlit as st

from core.active_model import active_status
from core.classifier import Classifier, run_model_path
from core.runs import run_path


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _run_classifier(run_id: str, model_mtime: float) -> Classifier:
    return Classifier.from_run(run_id)


def run_classifier(run_id: str) -> Classifier:
    """The classifier of a finished run, loaded once (reloaded if its model file changes)."""
    path = run_model_path(run_path(run_id))
    return _run_classifier(run_id, path.stat().st_mtime)


def active_classifier() -> tuple[Classifier | None, str]:
    """(classifier of the active model or None, a sentence saying which model or why none)."""
    status = active_status()
    if status.run_id is None:
        why = status.reason or "no model is active yet"
        return None, f"No active model: {why}. Make a finished run active on the **Experiments** page."
    return run_classifier(status.run_id), f"Active model: run {status.run_id}."
