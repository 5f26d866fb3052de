"""Models loaded once per server process (st.cache_resource), shared by pages: Predict, Live
and the annotator's "classify unlabelled boxes" get the same Classifier for the same run, and
the same starter model (models/starter) while the workspace has no active model."""

from __future__ import annotations

import streamlit as st

from core.errors import ClassifierError, MaskStudioError
from core.runs.active_model import active_status, run_model_mtime
from core.runs.models import classifier_for_run
from core.runs.starter import (
    MODEL_FILE,
    STARTER_NOTE,
    model_digest,
    starter_classifier,
    starter_dir,
    starter_labels,
    starter_status,
    starter_threshold,
)
from core.runs.thresholds import ThresholdReport, run_threshold_report
from core.vision.classifier import AUTO, Classifier


@st.cache_resource(max_entries=4, show_spinner=False)
def _run_classifier(run_id: str, backend: str, model_mtime: float) -> Classifier:
    return classifier_for_run(run_id, backend=backend)


def run_classifier(run_id: str, backend: str = AUTO) -> Classifier:
    """A finished run's classifier, loaded once per (run, backend, model file): reloaded when
    its model file changes."""
    mtime = run_model_mtime(run_id)
    with st.spinner("Loading the model (the first load of a run exports a LiteRT copy: up to a minute)…"):
        return _run_classifier(run_id, backend, mtime)


@st.cache_resource(max_entries=2, show_spinner=False)
def _starter_classifier(digest: str, labels: tuple[str, ...], backend: str, folder: str) -> Classifier:
    return starter_classifier(backend)


@st.cache_data(max_entries=8, show_spinner=False)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """model_digest, hashed again only when the file's mtime or size changes."""
    from pathlib import Path

    return model_digest(Path(path))


def starter_digest() -> str:
    """The starter model file's digest (core.runs.starter.model_digest, names its caches);
    ClassifierError with the reason when the starter files are missing or unreadable."""
    status = starter_status()
    if not status.available:
        raise ClassifierError(status.reason or "the starter model is not available")
    path = starter_dir() / MODEL_FILE
    try:
        stat = path.stat()
        return _digest(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise ClassifierError(f"the starter model file cannot be read: {exc}") from exc


def starter_model(backend: str = AUTO) -> Classifier:
    """The starter model's classifier, loaded once per (model file digest, labels, backend);
    ClassifierError with the reason when its files are missing or corrupt."""
    digest = starter_digest()
    with st.spinner("Loading the starter model (its first load exports a LiteRT copy)…"):
        return _starter_classifier(digest, tuple(starter_labels()), backend, str(starter_dir()))


def active_classifier() -> tuple[Classifier | None, str, float | None]:
    """(classifier or None, a sentence saying which model or why none, its suggested threshold
    or None): the active run, else the starter model, else none (faces only)."""
    status = active_status()
    if status.run_id is not None:
        clf = run_classifier(status.run_id)
        return clf, f"Active model: run {status.run_id}.", suggested_threshold(status.run_id, clf)
    why = status.reason or "no model is active yet"
    try:
        return starter_model(), STARTER_NOTE, starter_threshold()
    except ClassifierError as exc:
        return (
            None,
            (
                f"No active model: {why}, and the starter model is not usable ({exc}). "
                "Make a finished run active on the **Experiments** page."
            ),
            None,
        )


@st.cache_data(max_entries=16, show_spinner=False)
def _threshold_report(run_id: str, backend: str, model_mtime: float, _classifier: Classifier) -> dict:
    return run_threshold_report(_classifier, run_id).to_dict()


def threshold_report(run_id: str, classifier: Classifier) -> ThresholdReport:
    """The run's threshold curve and suggestion on its test split, scored once per (run, backend,
    model file); MaskStudioError or OSError when it cannot be scored."""
    mtime = run_model_mtime(run_id)
    with st.spinner("Scoring the run's test split…"):
        return ThresholdReport.from_dict(_threshold_report(run_id, classifier.backend, mtime, classifier))


def suggested_threshold(run_id: str, classifier: Classifier) -> float | None:
    """The run's suggested 'uncertain' threshold (from its test split), None when unavailable."""
    try:
        return threshold_report(run_id, classifier).suggestion.threshold
    except (MaskStudioError, OSError):
        return None
