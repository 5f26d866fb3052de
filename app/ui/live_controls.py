"""Live's sidebar controls: which model classifies the faces (the starter model by default while
the workspace has no active model), the detector, the threshold and how often a followed face is
classified again.

They are read on every script run and handed to the stream's LiveProcessor as one new
Predictor, so a change applies from the next frame without restarting the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.ui.common import literal, show_error
from app.ui.faces import detector_choice
from app.ui.models import run_classifier, starter_digest, starter_model
from core.errors import MaskStudioError
from core.inference.predictor import DEFAULT_THRESHOLD, Predictor
from core.inference.tracking import DEFAULT_EVERY, MAX_EVERY
from core.live.processor import DEFAULT_LIVE_DETECTOR, RGB, hex_to_rgb, settle_heap, warm_up
from core.runs.active_model import active_status, finished_runs
from core.runs.models import run_model_path
from core.runs.starter import STARTER_ID, STARTER_NOTE, starter_threshold
from core.runs.store import run_path
from core.runs.thresholds import run_threshold_report
from core.vision.classifier import Classifier
from core.vision.detectors import get_detector

ACTIVE, RUN, STARTER, NONE = "Active model", "A finished run", "Starter model", "No model (find faces only)"
SOURCES = (ACTIVE, RUN, STARTER, NONE)
FALLBACK_DETECTOR = "haar"


@dataclass(frozen=True)
class LiveChoice:
    """What the stream should run: a Predictor plus the words and colours the page shows."""

    predictor: Predictor
    detector_name: str
    model_key: str  # "none", run:<id>:<backend>:<mtime> or starter:<digest>:<backend>
    run_id: str | None  # STARTER_ID ("starter") for the starter model
    message: str  # which model, or why none
    every: int = DEFAULT_EVERY  # classify a followed face on one frame in `every`

    @property
    def classifier(self) -> Classifier | None:
        return self.predictor.model


@st.cache_resource(max_entries=16, show_spinner=False)
def _warm(detector_name: str, model_key: str, _predictor: Predictor) -> float:
    """Warm a detector/model pair once per server process (the first frame comes sooner), then
    settle the heap: Streamlit's collections after each script run stop stalling the video."""
    seconds = warm_up(_predictor)
    settle_heap()
    return seconds


@st.cache_data(max_entries=16, show_spinner=False)
def _suggested_threshold(
    run_id: str, backend: str, model_mtime: float, _classifier: Classifier
) -> float | None:
    try:
        return run_threshold_report(_classifier, run_id).suggestion.threshold
    except MaskStudioError:
        return None


def _run_label(record) -> str:  # noqa: ANN001 - core.runs.store.RunRecord
    acc = (record.metrics or {}).get("accuracy")
    acc_text = f" · test acc {acc:.3f}" if isinstance(acc, float) else ""
    return f"{record.run_id} · {record.config.get('model', '?')}{acc_text}"


def _starter() -> tuple[Classifier | None, str, str | None]:
    """The starter model, or faces only with the reason when its files are missing or corrupt."""
    try:
        classifier = starter_model()
    except MaskStudioError as exc:
        lead = "No active model, and the" if active_status().run_id is None else "The"
        return (
            None,
            f"{lead} starter model is not usable ({literal(exc)}), so Live finds faces only. Train a "
            "model on the **Experiments** page, or choose *A finished run* in the sidebar.",
            None,
        )
    return classifier, f"{STARTER_NOTE} Model: {literal(classifier.describe())}", STARTER_ID


def choose_classifier() -> tuple[Classifier | None, str, str | None]:
    """(classifier or None, a sentence for the page, run id or STARTER_ID) from the sidebar's
    model section."""
    sb = st.sidebar
    sb.header("Model")
    if "live_source" not in st.session_state:
        st.session_state["live_source"] = ACTIVE if active_status().run_id is not None else STARTER
    source = sb.radio("Classify faces with", SOURCES, key="live_source")
    if source == NONE:
        return None, "Finding faces only (no model): every face is labelled 'face'.", None
    if source == STARTER:
        return _starter()
    if source == ACTIVE:
        status = active_status()
        if status.run_id is None:
            why = status.reason or "none has been chosen yet"
            return (
                None,
                f"No active model ({why}), so Live finds faces only. Make a finished run active on the "
                "**Experiments** page, or choose *A finished run* in the sidebar.",
                None,
            )
        run_id = status.run_id
    else:
        runs = finished_runs()
        if not runs:
            return (
                None,
                "No finished run yet: train one on the **Experiments** page. Finding faces only.",
                None,
            )
        labels = {r.run_id: _run_label(r) for r in runs}
        run_id = sb.selectbox("Run", list(labels), format_func=labels.__getitem__, key="live_run")
    try:
        classifier = run_classifier(run_id)
    except MaskStudioError as exc:
        show_error(exc, f"Run {run_id} cannot classify faces live: ")
        return None, "Finding faces only until a usable model is chosen.", None
    return classifier, f"Model: {literal(classifier.describe())}", run_id


def choose_detector() -> str:
    """The face detector; Live starts with the fast CenterFace preset."""
    return detector_choice("live_detector", DEFAULT_LIVE_DETECTOR, sidebar=True)


def choose_threshold(classifier: Classifier | None, run_id: str | None) -> float:
    """The 'uncertain' threshold (the run's suggested value when its test split is there)."""
    if classifier is None:
        return DEFAULT_THRESHOLD
    default = None
    if run_id == STARTER_ID:
        default = starter_threshold()
    elif run_id is not None:
        try:
            mtime = run_model_path(run_path(run_id)).stat().st_mtime
            default = _suggested_threshold(run_id, classifier.backend, mtime, classifier)
        except (MaskStudioError, OSError):
            default = None
    default = DEFAULT_THRESHOLD if default is None else default
    return st.sidebar.slider(
        "Uncertain below (top probability)",
        0.0,
        1.0,
        float(default),
        step=0.01,
        key=f"live_threshold:{run_id}",
        help="A face whose most probable class is under this probability is labelled 'uncertain'. "
        f"Starts at {default:.2f}.",
    )


def choose_every(classifier: Classifier | None) -> int:
    """How often a followed face is classified again (core.inference.tracking); the default, unused,
    without a model."""
    if classifier is None:
        return DEFAULT_EVERY
    return int(
        st.sidebar.number_input(
            "Classify a followed face every … frames",
            min_value=1,
            max_value=MAX_EVERY,
            value=DEFAULT_EVERY,
            step=1,
            key="live_every",
            help="A face found again where it was on the last frame keeps its label for up to "
            "this many frames, and a few followed faces are classified again on each frame, so "
            "the model runs on fewer crops. New or moving faces are always classified; boxes are "
            "found on every frame. 1: every face on every frame (slowest, never an older label).",
        )
    )


def choose() -> LiveChoice:
    """The whole sidebar model section, as one Predictor (warmed up)."""
    classifier, message, run_id = choose_classifier()
    st.sidebar.header("Detection")
    detector_name = choose_detector()
    threshold = choose_threshold(classifier, run_id)
    every = choose_every(classifier)
    try:
        detector = get_detector(detector_name)
    except MaskStudioError as exc:
        show_error(exc, f"The {detector_name} detector is not available: ")
        detector_name = FALLBACK_DETECTOR
        detector = get_detector(detector_name)
        st.info(f"Using the {FALLBACK_DETECTOR} detector meanwhile.")
    model_key = "none"
    if classifier is not None and run_id == STARTER_ID:
        try:
            model_key = f"starter:{starter_digest()}:{classifier.backend}"
        except MaskStudioError:
            model_key = f"starter:?:{classifier.backend}"
    elif classifier is not None and run_id is not None:
        mtime = run_model_path(run_path(run_id)).stat().st_mtime
        model_key = f"run:{run_id}:{classifier.backend}:{mtime}"
    predictor = Predictor(detector, classifier, threshold)
    with st.spinner("Warming up the detector and the model…"):
        _warm(detector_name, model_key, predictor)
    return LiveChoice(predictor, detector_name, model_key, run_id, message, every)


def colours_for(labels: tuple[str, ...]) -> dict[str, RGB]:
    """Predict's colours (app.ui.predict_draw.label_colours) as RGB tuples for the video overlay."""
    from app.ui.predict_draw import label_colours

    return {label: hex_to_rgb(colour) for label, colour in label_colours(labels).items()}
