"""Predict's sidebar: which model classifies the faces (active model, a finished run, the starter
model shipped with the app, an uploaded .keras file, or none), on which backend, with which
detector and threshold. Without an active model the starter model is the default."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from app.ui.common import flash, literal, show_error
from app.ui.faces import detector_choice
from app.ui.models import run_classifier, starter_digest, starter_model
from core.errors import MaskStudioError
from core.inference.predictor import DEFAULT_THRESHOLD
from core.runs.active_model import active_status, finished_runs, set_active
from core.runs.models import run_model_path
from core.runs.starter import STARTER_NOTE, starter_threshold
from core.runs.store import run_path
from core.runs.thresholds import ThresholdReport, run_threshold_report
from core.vision.classifier import AUTO, BACKENDS, Classifier, parse_labels
from core.vision.detectors import DEFAULT_PREDICT_DETECTOR

STARTER = "Starter model"
SOURCES = ("Active model", "A finished run", STARTER, "Upload a .keras model", "No model (find faces only)")


@dataclass
class ModelChoice:
    """The classifier (None: faces only), a key naming it for caches, and its run (if any)."""

    classifier: Classifier | None
    key: str
    run_id: str | None = None
    note: str = ""
    threshold: float | None = None  # suggested by the model itself (the starter's starter.json)


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
    if choice.classifier is not None and choice.threshold is not None:
        return None, (
            f"The starter model suggests {choice.threshold:.2f} (from its own test split, see "
            "models/starter/card.md); the curve needs a run's test split."
        )
    if choice.classifier is None or choice.run_id is None:
        return None, "The threshold curve needs a run's test split (uploaded models have none)."
    try:
        mtime = run_model_path(run_path(choice.run_id)).stat().st_mtime
        with st.spinner("Scoring the run's test split…"):
            data = _threshold_report(choice.run_id, choice.classifier.backend, mtime, choice.classifier)
    except (MaskStudioError, OSError) as exc:
        return None, str(exc)
    return ThresholdReport.from_dict(data), None


def _run_label(record) -> str:  # noqa: ANN001 - core.runs.store.RunRecord
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


def _from_starter(backend: str) -> ModelChoice:
    """The starter model (faces only, with the reason, when its files are missing or corrupt)."""
    try:
        clf = starter_model(backend)
        digest = starter_digest()
    except MaskStudioError as exc:
        show_error(exc, "The starter model cannot be used, so faces are found only: ")
        if active_status().run_id is None:
            st.sidebar.info(
                "No active model and no usable starter model: pick a finished run or upload a "
                "model, or train one on the Experiments page."
            )
        return ModelChoice(None, "none", note="starter model not usable")
    st.info(STARTER_NOTE, icon=":material/school:")
    return ModelChoice(clf, f"starter:{digest}:{clf.backend}", threshold=starter_threshold())


def choose_model() -> ModelChoice:
    """The model section of the sidebar (the starter model by default while none is active)."""
    sb = st.sidebar
    sb.header("Model")
    if "pred_source" not in st.session_state:
        st.session_state["pred_source"] = SOURCES[0] if active_status().run_id is not None else STARTER
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
    if source == STARTER:
        return _from_starter(backend)
    if source == SOURCES[3]:
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
    return detector_choice("pred_detector", DEFAULT_PREDICT_DETECTOR, sidebar=True)


def choose_threshold(choice: ModelChoice, report: ThresholdReport | None) -> float:
    """The uncertain threshold; starts at the run's (or the starter's) suggested value, else
    DEFAULT_THRESHOLD."""
    if choice.classifier is None:
        return 0.0
    if report is not None:
        default = report.suggestion.threshold
    else:
        default = choice.threshold if choice.threshold is not None else DEFAULT_THRESHOLD
    return st.sidebar.slider(
        "Uncertain below (top probability)",
        0.0,
        1.0,
        float(default),
        step=0.01,
        key=f"pred_threshold:{choice.key}",
        help="A face whose most probable class is under this probability is labelled 'uncertain'. "
        f"Starts at the value suggested from the model's test split ({default:.2f}).",
    )
