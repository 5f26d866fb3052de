"""Live's sidebar controls: the model and threshold (app.widgets.model_picker, as on Predict), the
detector and how often a followed face is classified again.

They are read on every script run and handed to the stream's LiveProcessor as one new
Predictor, so a change applies from the next frame without restarting the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.widgets.common import show_error
from app.widgets.faces import detector_choice
from app.widgets.model_picker import ModelChoice, choose_model, choose_threshold, threshold_curve
from core.errors import MaskStudioError
from core.inference.predictor import Predictor
from core.inference.tracking import DEFAULT_EVERY, MAX_EVERY
from core.live.processor import DEFAULT_LIVE_DETECTOR, settle_heap, warm_up
from core.vision.classifier import Classifier
from core.vision.detectors import get_detector

FALLBACK_DETECTOR = "haar"


@dataclass(frozen=True)
class LiveChoice:
    """What the stream should run: a Predictor, and the model choice the page describes."""

    predictor: Predictor
    model: ModelChoice
    every: int = DEFAULT_EVERY  # classify a followed face on one frame in `every`


@st.cache_resource(max_entries=16, show_spinner=False)
def _warm(detector_name: str, model_key: str, _predictor: Predictor) -> float:
    """Warm a detector/model pair once per server process (the first frame comes sooner), then
    settle the heap: Streamlit's collections after each script run stop stalling the video."""
    seconds = warm_up(_predictor)
    settle_heap()
    return seconds


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
    """The whole sidebar (model, detector, threshold, how often), as one Predictor (warmed up)."""
    model = choose_model("live")
    st.sidebar.header("Detection")
    detector_name = detector_choice("live_detector", DEFAULT_LIVE_DETECTOR, sidebar=True)
    threshold = choose_threshold("live", model, *threshold_curve(model))
    every = choose_every(model.classifier)
    try:
        detector = get_detector(detector_name)
    except MaskStudioError as exc:
        show_error(exc, f"The {detector_name} detector is not available: ")
        detector_name = FALLBACK_DETECTOR
        detector = get_detector(detector_name)
        st.info(f"Using the {FALLBACK_DETECTOR} detector meanwhile.")
    predictor = Predictor(detector, model.classifier, threshold)
    with st.spinner("Warming up the detector and the model…"):
        _warm(detector_name, model.key, predictor)
    return LiveChoice(predictor, model, every)
