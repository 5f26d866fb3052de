"""AppTest: with no active model, Predict, Live and the annotator's "classify unlabelled boxes"
use the starter model and say so; a user's active run wins; missing or corrupt starter files
give a clear message and faces-only mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from core.annotation.annotations import Box
from core.annotation.projects import Project
from core.runs.starter import ENV_VAR, STARTER_NOTE
from tests.core.runs.test_starter import LABELS, make_starter
from tests.images import image_bytes
from tests.pages.conftest import open_page, run, texts, threshold_slider
from tests.tiny_models import confident_tiny_run, tiny_lenet_files

pytestmark = pytest.mark.slow

SCENE = "maksssksksss105.jpg"  # 9 faces


@pytest.fixture(scope="module")
def confident_keras() -> bytes:
    return tiny_lenet_files(seed=1, confidence=40.0)[0]


@pytest.fixture
def starter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Path, confident_keras: bytes) -> Path:
    """A usable starter model (tiny, confident) with a suggested threshold of 0.7."""
    cv = {"faces": 606, "found_and_right": {"with_mask": 0.7786, "without_mask": 0.6098}}
    folder = make_starter(tmp_path / "starter", confident_keras, info={"threshold": 0.7, "scene_cv": cv})
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder


BROKEN = {
    "missing": (None, "is missing"),
    "garbage": (b"\x00garbage bytes, not a .keras archive", "cannot be loaded"),
}


@pytest.fixture(params=list(BROKEN))
def broken_starter(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Path
):
    """(folder, words of the message): no starter folder at all, or a model.keras of garbage."""
    data, words = BROKEN[request.param]
    folder = tmp_path / "starter"
    if data is not None:
        make_starter(folder, data, info={"threshold": 0.7})
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder, words


# ----- Predict --------------------------------------------------------------------------------
def predict() -> AppTest:
    return open_page("predict.py", 240)


def test_predict_uses_the_starter_by_default_and_says_so(starter: Path, shared_data: Path) -> None:
    at = run(predict())
    assert at.sidebar.radio(key="pred_source").value == "Starter model"
    assert STARTER_NOTE in texts(at, "info")
    assert "starter model" in texts(at, "caption")
    assert literal("with_mask 0.78, without_mask 0.61 found-and-right in 5-fold cross-validation") in texts(
        at, "caption"
    )  # the figures it shipped with, and what they were measured on
    assert threshold_slider(at).value == pytest.approx(0.7)  # the starter's suggested threshold
    scene = (shared_data / "face_mask_detection_voc" / "images" / SCENE).read_bytes()
    at.file_uploader(key="pred_images").set_value([(SCENE, scene, "image/jpeg")])
    run(at)
    labels = set(at.dataframe[0].value["label"])
    assert labels and labels <= {*LABELS, "uncertain"}  # classified, not faces only


def test_predict_an_active_run_wins_over_the_starter(starter: Path, workspace: Path) -> None:
    run_id = confident_tiny_run(workspace)
    at = run(predict())
    assert at.sidebar.radio(key="pred_source").value == "Active model"
    assert STARTER_NOTE not in texts(at, "info")
    assert literal(f"run {run_id}") in texts(at, "caption")


def test_predict_without_a_usable_starter_finds_faces_only(broken_starter: tuple[Path, str]) -> None:
    _, words = broken_starter
    at = run(predict())
    assert at.sidebar.radio(key="pred_source").value == "Starter model"
    errors = texts(at, "error")
    assert "The starter model cannot be used" in errors and words in errors
    assert "Finding faces only" in texts(at, "info") and STARTER_NOTE not in texts(at, "info")
    assert "No active model" in texts(at.sidebar, "info")


# ----- the annotator's "classify unlabelled boxes" --------------------------------------------
def annotator(workspace: Path) -> AppTest:
    p = Project.create("demo")
    p.add_image("a.png", image_bytes((200, 160), (200, 180, 160)))
    with p.edit() as ann:
        for label in LABELS:
            ann.add_category(label)
        ann.add_box("a.png", Box(40, 30, 120, 110, "None"))
    return open_page("annotate.py", 120)


def test_the_annotator_classifies_with_the_starter_and_says_so(starter: Path, workspace: Path) -> None:
    at = run(annotator(workspace))
    assert STARTER_NOTE in texts(at, "info")
    assert at.slider(key="classify_threshold:starter").value == pytest.approx(0.7)
    at.slider(key="classify_threshold:starter").set_value(0.0)
    at.button(key="classify_one").click()
    run(at)
    assert Project.open("demo").load().boxes("a.png")[0].label in LABELS


def test_the_annotator_prefers_the_active_run(starter: Path, workspace: Path) -> None:
    run_id = confident_tiny_run(workspace)
    at = run(annotator(workspace))
    assert f"Active model: run {run_id}" in texts(at, "caption")
    assert STARTER_NOTE not in texts(at, "info")


def test_the_annotator_without_a_usable_starter_says_why(
    broken_starter: tuple[Path, str], workspace: Path
) -> None:
    _, words = broken_starter
    at = run(annotator(workspace))
    captions = texts(at, "caption")
    assert "No active model" in captions and "starter model is not usable" in captions and words in captions
    assert not any(b.key == "classify_one" for b in at.button)  # nothing to classify with


# ----- Live -----------------------------------------------------------------------------------
def live() -> AppTest:
    return open_page("live.py", 240)


def test_live_uses_the_starter_by_default(starter: Path, no_webrtc_session: None) -> None:
    at = run(live())
    assert at.sidebar.radio(key="live_source").value == "Starter model"
    assert STARTER_NOTE in texts(at, "info")  # as on Predict
    assert literal("The starter model suggests 0.70") in texts(at.sidebar, "caption")
    proc = at.session_state["live_processor"]
    assert proc.predictor.model is not None and proc.predictor.labels == LABELS
    assert proc.predictor.threshold == pytest.approx(0.7)


def test_live_without_a_usable_starter_finds_faces_only(
    broken_starter: tuple[Path, str], no_webrtc_session: None
) -> None:
    _, words = broken_starter
    at = run(live())
    errors = texts(at, "error")
    assert "The starter model cannot be used" in errors and words in errors  # as on Predict
    assert "Finding faces only" in texts(at, "info") and "No active model" in texts(at.sidebar, "info")
    assert at.session_state["live_processor"].predictor.model is None


def test_start_here_offers_try_predict_now_only_with_a_starter(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, confident_keras: bytes
) -> None:
    at = open_page("annotate.py", 120)
    run(at)
    assert "Try Predict now" not in "\n".join(m.value for m in at.markdown)  # no starter here
    cv = {"faces": 606, "found_and_right": {"with_mask": 0.7786, "without_mask": 0.6098}}
    folder = make_starter(tmp_path / "starter", confident_keras, info={"threshold": 0.7, "scene_cv": cv})
    monkeypatch.setenv(ENV_VAR, str(folder))
    run(at)
    assert "Try Predict now" in "\n".join(m.value for m in at.markdown)
