"""AppTest of pages/live.py: messages without a model or with a bad one, controls swapping the
session's Predictor in place, ICE settings, and a snapshot of a real scene into a project.

streamlit-webrtc needs a real session under AppTest: every test here uses the conftest's
no_webrtc_session.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from core.annotation.projects import Project
from core.imaging import load_rgb_array
from core.inference.predictor import DEFAULT_THRESHOLD
from core.live.processor import DEFAULT_LIVE_DETECTOR, LiveProcessor
from core.live.rtc import ICE_ENV
from core.runs.active_model import set_active
from core.runs.experiments import rename_run
from core.runs.store import load_run, run_path
from tests.core.runs.test_active_model import LABELS, make_run
from tests.pages.conftest import open_page, run, texts, threshold_slider

SCENE = "maksssksksss105.jpg"  # 9 faces


pytestmark = pytest.mark.usefixtures("no_webrtc_session")


@pytest.fixture
def active_run(workspace: Path, tiny_model_files: tuple[bytes, bytes]) -> str:
    keras_bytes, tflite = tiny_model_files
    run_id = make_run(workspace, model=keras_bytes, labels=LABELS, image_size=32)
    (run_path(run_id, workspace) / "best.tflite").write_bytes(tflite)
    set_active(run_id)
    return run_id


def app() -> AppTest:
    return open_page("live.py", 240)


def processor(at: AppTest) -> LiveProcessor:
    return at.session_state["live_processor"]


def test_without_an_active_model_it_finds_faces_only(workspace: Path) -> None:
    at = run(app())
    assert "No active model" in texts(at.sidebar, "info") and "Finding faces only" in texts(at, "info")
    proc = processor(at)
    assert proc.predictor.model is None and proc.predictor.detector.name == DEFAULT_LIVE_DETECTOR
    assert "No STUN or TURN server" in texts(at, "caption")
    assert "HTTPS" in texts(at, "markdown") and "localhost" in texts(at, "markdown")
    assert not at.metric and not at.get("plotly_chart")  # no empty charts before a stream
    assert "Press **START**" in texts(at, "info")


@pytest.mark.slow
def test_controls_swap_the_predictor_of_the_same_processor(active_run: str) -> None:
    at = run(app())
    assert literal(f"run {active_run}") in texts(at, "caption")
    proc = processor(at)
    assert proc.predictor.model is not None and proc.predictor.labels == LABELS
    at.sidebar.selectbox(key="live_detector").select("haar")
    run(at)
    assert processor(at) is proc and proc.predictor.detector.name == "haar"
    threshold_slider(at).set_value(0.9)
    run(at)
    assert processor(at) is proc and proc.predictor.threshold == pytest.approx(0.9)
    assert proc.every == 3
    at.sidebar.number_input(key="live_every").set_value(1)
    run(at)
    assert processor(at) is proc and proc.every == 1
    at.sidebar.radio(key="live_source").set_value("No model (find faces only)")
    run(at)
    assert processor(at) is proc and proc.predictor.model is None


@pytest.mark.slow
def test_a_model_whose_labels_do_not_fit_is_refused_clearly(
    workspace: Path, tiny_model_files: tuple[bytes, bytes]
) -> None:
    run_id = make_run(workspace, model=tiny_model_files[0], labels=("a", "b", "c"), image_size=32)
    set_active(run_id)
    at = run(app())
    assert f"Run {run_id} cannot classify faces: " in texts(at, "error")
    assert "2 outputs but 3 labels" in texts(at, "error")
    assert processor(at).predictor.model is None
    assert "Finding faces only" in texts(at, "info")


@pytest.mark.slow
def test_live_lists_runs_by_name_and_says_where_the_threshold_starts(active_run: str) -> None:
    """As on Predict: a run is listed with its name, and the sidebar says why the threshold
    starts where it does (this run has no test split: the default, and the reason)."""
    rename_run(load_run(active_run), "night shift")
    at = run(app())
    at.sidebar.radio(key="live_source").set_value("A finished run")
    run(at)
    picker = at.sidebar.selectbox(key="live_run")
    assert picker.value == active_run
    assert [o for o in picker.options if o.startswith(active_run)][0].endswith(" · night shift")
    assert threshold_slider(at).value == pytest.approx(DEFAULT_THRESHOLD)
    why = texts(at.sidebar, "caption")
    assert f"Starts at the default {DEFAULT_THRESHOLD:.2f}: " in why and "test split" in why


def test_bad_ice_settings_are_reported_and_none_used(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ICE_ENV, '["turn:turn.example.org"]')
    at = run(app())
    assert "ICE servers ignored" in texts(at, "error") and "username" in texts(at, "error")
    assert "No STUN or TURN server" in texts(at, "caption")


def test_ice_servers_from_the_environment_are_named(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ICE_ENV, '["stun:stun.example.org:3478"]')
    at = run(app())
    assert "stun:stun.example.org:3478" in texts(at, "caption")


def test_snapshot_before_any_frame_says_what_to_do(workspace: Path) -> None:
    at = run(app())
    next(b for b in at.button if b.label == "Snapshot").click()
    run(at)
    assert "No frame yet" in texts(at, "warning")


def test_snapshot_saves_the_frame_and_its_faces(workspace: Path, shared_data: Path) -> None:
    at = run(app())
    proc = processor(at)
    scene = load_rgb_array(shared_data / "face_mask_detection_voc" / "images" / SCENE)
    proc.process(scene)  # a camera frame, through the page's own predictor
    deadline = time.monotonic() + 120
    while proc.snapshot() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    snap = proc.snapshot()
    assert snap is not None and np.array_equal(snap.frame, scene)
    n_faces = len(snap.result.faces)
    assert n_faces >= 3
    run(at)
    assert [m.label for m in at.metric][:2] == ["Processed FPS", "Latency p50"]  # frames arrived
    at.sidebar.text_input(key="live_snap_new").input("webcam shots")
    run(at)
    next(b for b in at.button if b.label == "Snapshot").click()
    run(at)
    proc.stop()
    assert "to project webcam_shots" in texts(at, "success")
    project = Project.open("webcam_shots")
    (image,) = project.list_images()
    assert image.startswith("live-") and image.endswith(".jpg")
    assert project.image_size(image) == (scene.shape[1], scene.shape[0])
    boxes = project.load().boxes(image)
    assert 0 < len(boxes) <= n_faces and {b.label for b in boxes} == {"None"}
    # the next run keeps the new project as the target
    run(at)
    assert at.sidebar.selectbox(key="live_snap_project").value == "webcam_shots"
