"""The sidebar's model section, one for Predict and Live: which model classifies the faces (the
active model, a finished run, the starter model shipped with the app, on Predict also an uploaded
.keras file, or none), on which backend, and the 'uncertain' threshold.

Without an active model the starter model is the default. The threshold starts at the value the
model's test split suggests (a run's, measured once per model file, or the starter's own), else
at DEFAULT_THRESHOLD, and the sidebar says which and why. Widget keys start with the page's
prefix ("pred", "live"), so each page keeps its own choice. The line naming the model carries its
last scene figure (core.runs.scene_figures), and "Make this the active model" asks first when the
guardrails say so (app.widgets.make_active).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from app.widgets.common import literal, show_error
from app.widgets.make_active import make_active_button
from app.widgets.models import run_classifier, starter_digest, starter_model, threshold_report
from core.errors import MaskStudioError
from core.inference.predictor import DEFAULT_THRESHOLD
from core.runs.active_model import active_status, finished_runs, run_model_mtime
from core.runs.experiments import run_name
from core.runs.scene_figures import SceneFigure, latest_figure
from core.runs.starter import STARTER_ID, STARTER_NOTE, starter_threshold, starter_threshold_source
from core.runs.store import RunRecord
from core.runs.thresholds import ThresholdReport
from core.vision.classifier import AUTO, BACKENDS, Classifier, parse_labels

ACTIVE, RUN, STARTER = "Active model", "A finished run", "Starter model"
UPLOAD, NONE = "Upload a .keras model", "No model (find faces only)"
FACES_ONLY = "Finding faces only: choose a model in the sidebar to classify them."


@dataclass(frozen=True)
class ModelChoice:
    """The classifier (None: faces only), a key naming it for caches, and where it comes from."""

    classifier: Classifier | None
    key: str  # "none", run:<id>:<backend>:<mtime>, starter:<digest>:<backend> or upload:<digest>:...
    run_id: str | None = None  # the finished run it was trained in
    threshold: float | None = None  # suggested by the model itself (the starter's starter.json)
    scene: SceneFigure | None = None  # its last scene figure (the starter's shipped one)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.classifier.labels if self.classifier is not None else ()


NO_MODEL = ModelChoice(None, "none")


@st.cache_resource(max_entries=2, show_spinner=False)
def _upload_classifier(
    digest: str, labels: tuple[str, ...], backend: str, _data: bytes, name: str
) -> Classifier:
    return Classifier.from_bytes(_data, labels, name=name, backend=backend)


def run_option(record: RunRecord, accuracy: str = "test acc") -> str:
    """A run as a run picker lists it: id · model · `accuracy` (its test accuracy) · its name."""
    acc = (record.metrics or {}).get("accuracy")
    name = run_name(record)
    acc_text = f" · {accuracy} {acc:.3f}" if isinstance(acc, float) else ""
    return f"{record.run_id} · {record.config.get('model', '?')}{acc_text}" + (f" · {name}" if name else "")


def _from_run(run_id: str, backend: str) -> ModelChoice:
    try:
        clf = run_classifier(run_id, backend)
        mtime = run_model_mtime(run_id)
    except (MaskStudioError, OSError) as exc:
        show_error(exc, f"Run {run_id} cannot classify faces: ")
        return NO_MODEL
    return ModelChoice(clf, f"run:{run_id}:{clf.backend}:{mtime}", run_id, scene=latest_figure(run_id))


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
        return NO_MODEL
    st.info(STARTER_NOTE, icon=":material/school:")
    return ModelChoice(
        clf, f"starter:{digest}:{clf.backend}", threshold=starter_threshold(), scene=latest_figure(STARTER_ID)
    )


def _from_active(backend: str) -> ModelChoice:
    sb = st.sidebar
    status = active_status()
    if status.run_id is None:
        hint = (
            "Choose “A finished run” above, or make one active on the Experiments page."
            if finished_runs()
            else "Train one on the Experiments page first (LeNet, 1 epoch, takes a minute)."
        )
        sb.info(f"No active model: {literal(status.reason or 'none chosen yet')}. {hint}")
        return NO_MODEL
    sb.caption(f"Active model: run {literal(status.run_id)}")
    return _from_run(status.run_id, backend)


def _from_finished_run(prefix: str, backend: str) -> ModelChoice:
    sb = st.sidebar
    runs = finished_runs()
    if not runs:
        sb.info("No finished run yet: train one on the Experiments page.")
        return NO_MODEL
    labels = {r.run_id: run_option(r) for r in runs}
    run_id = sb.selectbox("Run", list(labels), format_func=labels.__getitem__, key=f"{prefix}_run")
    make_active_button(sb, run_id, key=f"{prefix}_make_active", label="Make this the active model")
    return _from_run(run_id, backend)


def _uploaded(prefix: str, backend: str) -> ModelChoice:
    sb = st.sidebar
    up = sb.file_uploader("Keras 3 model (.keras)", type=["keras"], key=f"{prefix}_model_file")
    text = sb.text_area(
        "Class labels, one per line, in the model's output order",
        key=f"{prefix}_model_labels",
        placeholder="with_mask\nwithout_mask",
    )
    if up is None:
        sb.info("Upload a .keras file. Models that contain Python code (Lambda layers) are refused.")
        return NO_MODEL
    labels = tuple(parse_labels(text))
    if not labels:
        sb.warning("Type the model's class labels to use it.")
        return NO_MODEL
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        with st.spinner("Loading the uploaded model…"):
            clf = _upload_classifier(digest, labels, backend, data, up.name)
    except MaskStudioError as exc:
        show_error(exc, "Model refused: ")
        return NO_MODEL
    return ModelChoice(clf, f"upload:{digest}:{','.join(labels)}:{clf.backend}")


def choose_model(prefix: str, *, uploads: bool = False, backends: bool = False) -> ModelChoice:
    """The sidebar's "Model" header, source radio (the starter model by default while none is
    active) and what the source needs; `uploads` offers a .keras upload, `backends` a backend
    choice (else AUTO). Says in the sidebar why there is no model when there is none."""
    sb = st.sidebar
    sb.header("Model")
    sources = (ACTIVE, RUN, STARTER, *((UPLOAD,) if uploads else ()), NONE)
    key = f"{prefix}_source"
    if key not in st.session_state:
        st.session_state[key] = ACTIVE if active_status().run_id is not None else STARTER
    source = sb.radio("Classify faces with", sources, key=key)
    backend = AUTO
    if backends:
        backend = sb.selectbox(
            "Backend",
            [AUTO, *BACKENDS],
            key=f"{prefix}_backend",
            help="auto: the fastest backend whose probabilities match model.predict on a probe batch "
            "(LiteRT, then tf.function); keras is the plain model.predict reference.",
        )
    if source == ACTIVE:
        return _from_active(backend)
    if source == RUN:
        return _from_finished_run(prefix, backend)
    if source == STARTER:
        return _from_starter(backend)
    if source == UPLOAD:
        return _uploaded(prefix, backend)
    return NO_MODEL


def show_model(choice: ModelChoice) -> None:
    """The page's line about the model: which one and its last scene figure, or that faces are
    found only."""
    if choice.classifier is None:
        st.info(FACES_ONLY, icon=":material/info:")
    else:
        scene = f" · {choice.scene.describe()}" if choice.scene is not None else ""
        st.caption(f"Model: {literal(choice.classifier.describe() + scene)}")


def threshold_curve(choice: ModelChoice) -> tuple[ThresholdReport | None, str | None]:
    """(the run's threshold curve on its test split, None) or (None, why it is not available)."""
    if choice.classifier is not None and choice.threshold is not None:
        return None, (
            f"The starter model suggests {choice.threshold:.2f}, chosen on {literal(starter_threshold_source())} "
            "(see models/starter/card.md); the curve needs a run's test split."
        )
    if choice.classifier is None or choice.run_id is None:
        return None, "The threshold curve needs a run's test split (uploaded models have none)."
    try:
        return threshold_report(choice.run_id, choice.classifier), None
    except (MaskStudioError, OSError) as exc:
        return None, str(exc)


def choose_threshold(
    prefix: str, choice: ModelChoice, report: ThresholdReport | None, why: str | None
) -> float:
    """The 'uncertain' threshold slider (0.0 without a model): it starts at the run's suggested
    value, else the starter's, else DEFAULT_THRESHOLD, and the caption under it says which and why."""
    if choice.classifier is None:
        return 0.0
    if report is not None:
        default = report.suggestion.threshold
        source = (
            f"Starts at {default:.2f}, suggested for run {literal(choice.run_id)}: chosen on "
            f"{literal(report.source)} ({report.faces} faces)."
        )
    elif choice.threshold is not None:
        default, source = choice.threshold, literal(why)
    else:
        default = DEFAULT_THRESHOLD
        source = f"Starts at the default {default:.2f}: {literal(why)}"
    value = st.sidebar.slider(
        "Uncertain below (top probability)",
        0.0,
        1.0,
        float(default),
        step=0.01,
        key=f"{prefix}_threshold:{choice.key}",
        help="A face whose most probable class is under this probability is labelled 'uncertain'.",
    )
    st.sidebar.caption(source)
    return value
