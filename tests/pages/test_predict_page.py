"""AppTest of pages/predict.py: a real scene, a tiny real model, the table, the threshold, the
curve, refusals and "Send to annotator"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from core.annotation.projects import Project
from core.fsutil import atomic_write_json
from core.runs.active_model import get_active, set_active
from core.runs.scene_figures import SceneFigure, save_scene_figure
from core.runs.store import run_path
from tests.core.runs.test_active_model import make_run
from tests.images import array_bytes
from tests.models.synth import CLASSES, make_dataset_version
from tests.pages.conftest import open_page, run, texts, threshold_slider

pytestmark = pytest.mark.slow

SCENE = "maksssksksss105.jpg"  # 9 faces, all with_mask


@pytest.fixture
def active_run(workspace: Path, tiny_model_files: tuple[bytes, bytes]) -> str:
    """A finished run (tiny model, its LiteRT copy, a synthetic test split) made active."""
    keras_bytes, tflite = tiny_model_files
    version = make_dataset_version(workspace, per_split=(1, 1, 4))
    run_id = make_run(workspace, model=keras_bytes, labels=CLASSES, dataset_version=version)
    (run_path(run_id, workspace) / "best.tflite").write_bytes(tflite)  # newer than best.keras
    set_active(run_id)
    return run_id


@pytest.fixture(scope="module")
def scene(shared_data: Path) -> bytes:
    return (shared_data / "face_mask_detection_voc" / "images" / SCENE).read_bytes()


def app() -> AppTest:
    return open_page("predict.py", 240)


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="pred_images").set_value([(n, d, "image/jpeg") for n, d in files])
    return run(at)


def table(at: AppTest):
    return at.dataframe[0].value


def test_without_a_model_faces_are_found_and_no_face_is_said(workspace: Path, scene: bytes) -> None:
    at = run(app())
    assert any("No active model" in m.value for m in at.sidebar.info)
    upload(at, [(SCENE, scene), ("blank.jpg", array_bytes(np.full((120, 160, 3), 200, np.uint8), "JPEG"))])
    df = table(at)
    faces = df[df["image"] == SCENE]
    assert len(faces) >= 5 and set(faces["label"]) == {"face"}
    assert df[df["image"] == "blank.jpg"]["label"].tolist() == ["(no face)"]
    assert any(i.value == "No face found." for i in at.info)
    assert len(at.image) == 2  # each image drawn with its faces
    csv = at.get("download_button")[0]
    assert csv.proto.label == "Download CSV"


def test_active_model_labels_faces_and_the_threshold_makes_them_uncertain(
    active_run: str, scene: bytes
) -> None:
    at = run(app())
    assert literal(f"run {active_run}") in texts(at, "caption")
    upload(at, [(SCENE, scene)])
    labels = set(table(at)["label"])
    assert labels and labels <= {*CLASSES, "uncertain"}
    assert {f"p_{c}" for c in CLASSES} <= set(table(at).columns)
    caption = texts(at.sidebar, "caption")  # where the threshold starts, and what it was chosen on
    assert "suggested for run" in caption and "chosen on the test split" in caption
    threshold_slider(at).set_value(1.0)
    run(at)
    assert set(table(at)["label"]) == {"uncertain"}
    # The curve of the run's test split, with the suggested threshold.
    assert at.get("plotly_chart")
    assert any("Suggested threshold" in m.value for m in at.markdown)


def test_send_to_annotator_creates_the_project_with_the_boxes(active_run: str, scene: bytes) -> None:
    at = run(app())
    upload(at, [(SCENE, scene)])
    n_faces = len(table(at))
    at.sidebar.text_input(key="pred_send_new").input("corrections")
    run(at)
    next(b for b in at.button if b.label == "Send to annotator").click()
    run(at)
    project = Project.open("corrections")
    assert project.list_images() == [SCENE]
    boxes = project.load().boxes(SCENE)
    assert 0 < len(boxes) <= n_faces
    assert {b.label for b in boxes} <= {*CLASSES, "None"}
    assert all(b.score is not None for b in boxes)  # the model's confidence
    assert any("Sent to project corrections" in m.value for m in at.success)  # AppTest: no annotator page
    assert set(CLASSES) <= set(project.load().categories)  # the model's classes were added


def test_a_model_with_code_is_refused(workspace: Path) -> None:
    import tempfile

    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Lambda(lambda t: t / 255.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x)))
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "lambda.keras")
        data = (Path(tmp) / "lambda.keras").read_bytes()
    at = run(app())
    at.sidebar.radio(key="pred_source").set_value("Upload a .keras model")
    run(at)
    at.sidebar.file_uploader(key="pred_model_file").set_value(("lambda.keras", data, "application/zip"))
    at.sidebar.text_area(key="pred_model_labels").input("a\nb")
    run(at)
    assert any("Model refused" in e.value and "Python code" in e.value for e in at.error)


def test_a_workspace_folder_can_be_the_input(workspace: Path, scene: bytes) -> None:
    Project.create("scenes").add_image(SCENE, scene)
    at = run(app())
    at.radio(key="pred_input").set_value("Workspace folder")
    run(at)
    assert at.selectbox(key="pred_folder").value == "projects/scenes/images"
    assert SCENE in set(table(at)["image"])


def test_send_defaults_to_a_dated_new_project_and_guards_hand_labels(active_run: str, scene: bytes) -> None:
    """Issue 12: one click mixed predictions into the first (ground-truth) project."""
    from datetime import date

    from core.annotation.annotations import Box

    truth = Project.create("ground truth")
    truth.add_image("other.png", array_bytes(np.full((60, 80, 3), 90, np.uint8), "JPEG"))
    with truth.edit() as ann:
        ann.add_category("with_mask")
        ann.add_box("other.png", Box(10, 10, 40, 40, "with_mask"))
    at = run(app())
    upload(at, [(SCENE, scene)])
    assert at.sidebar.selectbox(key="pred_send_project").value == "(new project)"
    default = f"predictions-{date.today().isoformat()}"
    assert at.sidebar.text_input(key="pred_send_new").value == default
    at.sidebar.selectbox(key="pred_send_project").select("ground_truth")
    run(at)
    assert any("hand-labelled" in w.value for w in at.sidebar.warning)
    next(b for b in at.button if b.label == "Send to annotator").click()
    run(at)
    assert truth.list_images() == ["other.png"]  # refused until confirmed
    assert any("Mix predictions into it" in w.value for w in at.warning)
    at.sidebar.selectbox(key="pred_send_project").select("(new project)")
    run(at)
    next(b for b in at.button if b.label == "Send to annotator").click()
    run(at)
    next(b for b in at.button if b.label == "Send to annotator").click()  # a second send: same project
    run(at)
    assert Project.open(default).list_images() == [SCENE]


def test_the_model_line_carries_its_last_scene_figure(active_run: str) -> None:
    at = run(app())
    assert "Scene test" not in texts(at, "caption")  # none measured yet: nothing claimed
    figure = {"with_mask": 0.78, "without_mask": 0.61}
    save_scene_figure(
        SceneFigure(
            active_run, figure, "voc", "voc", "/data/voc", 100, 606, measured_at="2026-12-07T10:00:00"
        )
    )
    run(at)
    line = next(c.value for c in at.caption if c.value.startswith("Model:"))
    assert (
        literal(
            "Scene test: with_mask 0.78, without_mask 0.61 found-and-right on 100 VOC scenes of voc (606 faces), 2026-12-07"
        )
        in line
    )


def test_make_this_the_active_model_asks_first_for_a_collapsed_run(workspace: Path) -> None:
    run_id = make_run(workspace, labels=CLASSES)  # its model file is never loaded here
    recalls = dict(zip(CLASSES, (1.0, 0.0), strict=True))
    metrics = {
        "accuracy": 0.864,
        "macro_f1": 0.464,
        "per_class": {c: {"recall": r} for c, r in recalls.items()},
    }
    atomic_write_json(run_path(run_id, workspace) / "metrics.json", metrics)
    at = run(app())
    at.sidebar.radio(key="pred_source").set_value("A finished run")
    run(at)
    at.button(key="pred_make_active").click()
    run(at)
    assert get_active() is None
    assert "misses most" in texts(at.sidebar, "warning")
    at.button(key="pred_make_active_confirm").click()
    run(at)
    assert get_active() == run_id


def test_photos_and_results_survive_a_page_switch_until_cleared(workspace: Path, scene: bytes) -> None:
    """Send to annotator switches page, and Streamlit then drops the uploader's files: Predict
    keeps the photos and shows them again on return, with their results."""
    at = upload(run(app()), [(SCENE, scene)])
    before = table(at)
    at.switch_page("annotate.py")  # what Send to annotator does
    run(at)
    # In a browser the uploader's files are gone once another page ran; AppTest keeps widget
    # values, so drop them as the browser session does.
    del at.session_state["pred_images"]
    at.switch_page("predict.py")
    run(at)
    assert any("you uploaded before" in c.value for c in at.caption)
    assert table(at).equals(before)  # the same photo, the same results
    next(b for b in at.button if b.label == "Clear").click()
    run(at)
    assert not at.dataframe and not any("you uploaded before" in c.value for c in at.caption)


def test_emptying_the_uploader_forgets_the_photos(workspace: Path, scene: bytes) -> None:
    at = upload(run(app()), [(SCENE, scene)])
    assert at.dataframe
    upload(at, [])  # the user removed the file on the page: nothing is brought back
    assert not at.dataframe and not any("you uploaded before" in c.value for c in at.caption)
