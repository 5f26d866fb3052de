"""Predict's sidebar: which model classifies the faces (active model, a finished run, an uploaded
.keras file, or none), on which backend, with which detector and threshold."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from app.ui.common import flash, literal, show_error
from app.ui.faces import detector_choice
from app.ui.models import run_classifier
from core.active_model import active_status, finished_runs, set_active
from core.classifier import AUTO, BACKENDS, Classifier, parse_labels, run_model_path
from core.errors import MaskStudioError
from core.inference import DEFAULT_PREDICT_DETECTOR, DEFAULT_THRESHOLD, PREDICT_DETECTORS
from core.runs import run_path
from core.thresholds import ThresholdReport, run_threshold_report

SOURCES = ("Active model", "A finished run", "Upload a .keras model", "No model (find faces only)")


@dataclass
class ModelChoice:
    """The classifier (None: faces only), a key naming it for caches, and its run (if any)."""

    classifier: Classifier | None
    key: str
    run_id: str | None = None
    note: str = ""


@st.cache_resource(max_entries=2, show_spinner=False)
def _upload_classifier(
    digest: str, labels: tuple[str, ...], backend: str, _data: bytes, name: str
) -> Classifier:
    return Classifier.from_bytes(_data, labels, name=name, backend=backend)


@st.cache_data(max_entries=16, show_spinner=False)
def _threshold_report(run_id: str, backend: str, model_mtime: float, _classifier: Classifier) -> dict:
    return run_threshold_report(_classifier, run_id).to_dict()


def threshold_report(choice: ModelChoice) -> tuple[ThresholdReport | None, str | None]:
    """(the run's threshold curve on its test split, None) or (None, why it is not available)."""
    if choice.classifier is None or choice.run_id is None:
        return None, "The threshold curve needs a run's test split (uploaded models have none)."
    try:
        mtime = run_model_path(run_path(choice.run_id)).stat().st_mtime
        with st.spinner("Scoring the run's test split…"):
            data = _threshold_report(choice.run_id, choice.classifier.backend, mtime, choice.classifier)
    except (MaskStudioError, OSError) as exc:
        return None, str(exc)
    return ThresholdReport.from_dict(data), None


def _run_label(record) -> str:  # noqa: ANN001 - core.runs.RunRecord
    acc = (record.metrics or {}).get("accuracy")
    model = record.config.get("model", "?")
    name = record.config.get("name") or ""
    acc_text = f" · test acc {acc:.3f}" if isinstance(acc, float) else ""
    return f"{record.run_id} · {model}{acc_text}" + (f" · {name}" if name else "")


def _from_run(run_id: str, backend: str) -> ModelChoice:
    try:
        clf = run_classifier(run_id, backend)
    except MaskStudioError as exc:
        show_error(exc, "This model cannot be used: ")
        return ModelChoice(None, "none")
    mtime = run_model_path(run_path(run_id)).stat().st_mtime
    return ModelChoice(clf, f"run:{run_id}:{clf.backend}:{mtime}", run_id)


def choose_model() -> ModelChoice:
    """The model section of the sidebar."""
    sb = st.sidebar
    sb.header("Model")
    source = sb.radio("Classify faces with", SOURCES, key="pred_source")
    backend = sb.selectbox(
        "Backend",
        [AUTO, *BACKENDS],
        key="pred_backend",
        help="auto: the fastest backend whose probabilities match model.predict on a probe batch "
        "(LiteRT, then tf.function); keras is the plain model.predict reference.",
    )
    if source == SOURCES[0]:
        status = active_status()
        if status.run_id is None:
            hint = (
                "Choose “A finished run” above, or make one active on the Experiments page."
                if finished_runs()
                else "Train one on the Experiments page first (LeNet, 1 epoch, takes a minute)."
            )
            sb.info(f"No active model: {status.reason or 'none chosen yet'}. {hint}")
            return ModelChoice(None, "none", note="no active model")
        sb.caption(f"Active model: run {literal(status.run_id)}")
        return _from_run(status.run_id, backend)
    if source == SOURCES[1]:
        runs = finished_runs()
        if not runs:
            sb.info("No finished run yet: train one on the Experiments page.")
            return ModelChoice(None, "none", note="no finished run")
        labels = {r.run_id: _run_label(r) for r in runs}
        run_id = sb.selectbox("Run", list(labels), format_func=labels.__getitem__, key="pred_run")
        if sb.button("Make this the active model", key="pred_make_active"):
            try:
                set_active(run_id)
                flash("success", f"Run {run_id} is now the active model.")
                st.rerun()
            except MaskStudioError as exc:
                show_error(exc)
        return _from_run(run_id, backend)
    if source == SOURCES[2]:
        return _uploaded(backend)
    return ModelChoice(None, "none")


def _uploaded(backend: str) -> ModelChoice:
    sb = st.sidebar
    up = sb.file_uploader("Keras 3 model (.keras)", type=["keras"], key="pred_model_file")
    text = sb.text_area(
        "Class labels, one per line, in the model's output order",
        key="pred_model_labels",
        placeholder="with_mask\nwithout_mask",
    )
    if up is None:
        sb.info("Upload a .keras file. Models that contain Python code (Lambda layers) are refused.")
        return ModelChoice(None, "none", note="no model uploaded")
    labels = tuple(parse_labels(text))
    if not labels:
        sb.warning("Type the model's class labels to use it.")
        return ModelChoice(None, "none", note="labels missing")
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        with st.spinner("Loading the uploaded model…"):
            clf = _upload_classifier(digest, labels, backend, data, up.name)
    except MaskStudioError as exc:
        show_error(exc, "Model refused: ")
        return ModelChoice(None, "none", note="model refused")
    return ModelChoice(clf, f"upload:{digest}:{','.join(labels)}:{clf.backend}")


def choose_detector() -> str:
    """The face detector (Predict's adaptive CenterFace by default)."""
    return detector_choice("pred_detector", PREDICT_DETECTORS, DEFAULT_PREDICT_DETECTOR, sidebar=True)


def choose_threshold(choice: ModelChoice, report: ThresholdReport | None) -> float:
    """The uncertain threshold; starts at the run's suggested value (or DEFAULT_THRESHOLD)."""
    if choice.classifier is None:
        return 0.0
    default = report.suggestion.threshold if report is not None else DEFAULT_THRESHOLD
    return st.sidebar.slider(
        "Uncertain below (top probability)",
        0.0,
        1.0,
        float(default),
        step=0.01,
        key=f"pred_threshold:{choice.key}",
        help="A face whose most probable class is under this probability is labelled 'uncertain'. "
        f"Starts at the value suggested from the test split ({default:.2f}).",
    )
