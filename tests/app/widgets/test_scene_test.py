"""AppTest of the Experiments page's "Scene test" tab: a tiny real run and a tiny starter model
scored on a few real VOC scenes (a project, and a VOC folder with a missing image), the class
mapping table, the leak refusal, a model whose classes match nothing, the result surviving
reruns, and "Open in the annotator" (nothing is ever written into the scenes' source)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from app.widgets.scene_test import LEAVE_OUT, RESULT_KEY, mapping_from_table
from core.annotation.annotations import Box
from core.annotation.formats.voc import parse_voc_xml
from core.annotation.projects import Project
from core.data.provenance import sha256_file
from core.fsutil import atomic_write_json
from core.inference.scene_sets import load_scene_set
from core.inference.scenes import evaluate_models
from core.runs.scene_figures import latest_figure
from core.runs.starter import ENV_VAR
from core.runs.store import run_path
from tests.core.runs.test_active_model import make_run
from tests.core.runs.test_starter import make_starter
from tests.pages.conftest import open_page, run, texts
from tests.tiny_models import confident_tiny_run, tiny_lenet_files

pytestmark = pytest.mark.slow

#: 2 faces (with_mask, without_mask); 8 faces (5 with, 2 without, 1 mask_weared_incorrect);
#: 2 faces (1 without, 1 mask_weared_incorrect).
PHOTOS = ("maksssksksss114", "maksssksksss206", "maksssksksss276")
NO_IMAGE = "maksssksksss129"  # its XML is copied, its image is not


def voc_boxes(xml: Path) -> tuple[str, list[tuple[str, tuple[float, ...]]]]:
    name, _, raw = parse_voc_xml(xml.read_bytes(), file=xml.name)
    return name, [(b.label, tuple(b.xyxy)) for b in raw]


@pytest.fixture
def voc(tmp_path: Path, shared_data: Path) -> Path:
    """A small VOC folder: three real scenes and one XML whose image is missing."""
    src = shared_data / "face_mask_detection_voc"
    folder = tmp_path / "voc"
    (folder / "annotations").mkdir(parents=True)
    (folder / "images").mkdir()
    for stem in PHOTOS:
        shutil.copy(src / "annotations" / f"{stem}.xml", folder / "annotations")
        shutil.copy(src / "images" / f"{stem}.jpg", folder / "images")
    shutil.copy(src / "annotations" / f"{NO_IMAGE}.xml", folder / "annotations")
    return folder


@pytest.fixture
def scenes_project(workspace: Path, voc: Path) -> Project:
    """Project 'scenes' holding the same three photos and their labelled boxes."""
    project = Project.create("scenes")
    for stem in PHOTOS:
        name, boxes = voc_boxes(voc / "annotations" / f"{stem}.xml")
        image = project.add_image(name, (voc / "images" / name).read_bytes())
        with project.edit() as ann:
            for label, _ in boxes:
                if label not in ann.categories:
                    ann.add_category(label)
            ann.try_add_boxes(image, [Box.from_xyxy(xyxy, label) for label, xyxy in boxes])
    return project


@pytest.fixture
def run_id(workspace: Path) -> str:
    """A finished run (confident tiny LeNet: with_mask, without_mask) with crop test metrics."""
    rid = confident_tiny_run(workspace)
    atomic_write_json(run_path(rid, workspace) / "metrics.json", {"accuracy": 0.97, "macro_f1": 0.96})
    return rid


@pytest.fixture(scope="module")
def starter_keras() -> bytes:
    return tiny_lenet_files(seed=2, confidence=40.0)[0]


def use_starter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, **info: object) -> Path:
    folder = make_starter(tmp_path / "starter", data, info={"threshold": 0.5, **info})
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder


def app() -> AppTest:
    at = open_page("experiments.py", 300)
    at.query_params["section"] = "scene test"  # the page opens on the Scene test section
    return at


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def scene_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "crop test accuracy" in d.value.columns)


def test_mapping_table_reads_leave_out_as_none() -> None:
    table = pd.DataFrame(
        {
            "scene class": ["mask", "nomask", "odd"],
            "faces": [3, 2, 1],
            "model class": ["with_mask", "b", LEAVE_OUT],
        }
    )
    assert mapping_from_table(table) == {"mask": "with_mask", "nomask": "b", "odd": None}


def test_a_run_and_the_starter_side_by_side_on_a_project(
    scenes_project: Project,
    run_id: str,
    starter_keras: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_starter(tmp_path, monkeypatch, starter_keras, crop_metrics={"accuracy": 0.99})
    before = tree(scenes_project.root)
    at = run(app())
    assert at.multiselect(key="scene_models").value == [run_id, "starter"]
    assert at.selectbox(key="scene_project").value == "scenes"
    assert "3 photos, 12 labelled faces" in texts(at, "caption")
    # mask_weared_incorrect is not a model class: the mapping is shown, editable, per model.
    editor = at.data_editor(key=f"scene_map:{run_id}:project:scenes")
    mapping = dict(zip(editor.value["scene class"], editor.value["model class"], strict=True))
    assert mapping == {
        "mask_weared_incorrect": "with_mask",
        "with_mask": "with_mask",
        "without_mask": "without_mask",
    }
    # Leave the wrongly worn masks out for the run (the starter keeps the default mapping).
    at.session_state[f"scene_map:{run_id}:project:scenes"] = {
        "edited_rows": {0: {"model class": LEAVE_OUT}},
        "added_rows": [],
        "deleted_rows": [],
    }
    run(at)
    at.button(key="scene_run").click()
    run(at)

    result = at.session_state[RESULT_KEY]
    run_score, starter_score = result.scores
    assert run_score.mapping["mask_weared_incorrect"] is None
    assert starter_score.mapping["mask_weared_incorrect"] == "with_mask"
    assert run_score.report.per_class["with_mask"].faces == 6
    assert starter_score.report.per_class["with_mask"].faces == 8
    # The page shows what core computes for the same inputs.
    direct = evaluate_models(
        [run_id], load_scene_set("scenes"), detector=result.detector, mappings={run_id: run_score.mapping}
    )[0]
    assert direct.report.to_dict() == run_score.report.to_dict()
    # Each model keeps its figure, for Predict, Live and "make active".
    for ref, score in ((run_id, run_score), ("starter", starter_score)):
        kept = latest_figure(ref)
        assert (kept.kind, kept.source, kept.faces) == ("project", "scenes", result.scene_set.faces)
        assert kept.found_and_right == {
            c: v for c, v in score.report.found_and_right.items() if v is not None
        }

    assert at.get("plotly_chart"), "the side-by-side chart"
    df = scene_table(at)
    assert len(df) == 2 and df["crop test accuracy"].tolist() == [0.97, 0.99]
    row = df.iloc[0]
    assert row["found & right: with_mask"] == round(run_score.report.found_and_right["with_mask"], 3)
    assert row["detector recall"] == round(run_score.report.detector_recall, 3)
    assert 0.0 <= row["accuracy on found"] <= 1.0
    assert at.get("download_button")

    # The result survives reruns, and the worst photos open where they are.
    run(at)
    assert len(scene_table(at)) == 2 and at.session_state[RESULT_KEY] is result
    worst = run_score.report.worst_photos(6)
    assert worst and len(at.image) == len(worst)
    at.button(key=f"scene_open:{run_id}:{worst[0].name}").click()
    run(at)
    assert f"Open project scenes, image {worst[0].name}" in texts(at, "success")
    assert tree(scenes_project.root) == before  # nothing was written into the project


def test_a_voc_folder_lists_missing_images_and_review_copies_into_a_new_project(
    workspace: Path, voc: Path, run_id: str
) -> None:
    before = tree(voc)
    at = run(app())
    at.radio(key="scene_kind").set_value("A Pascal VOC folder")
    run(at)
    at.text_input(key="scene_voc").input(str(voc))
    run(at)
    warning = texts(at, "warning")
    assert "1 photo(s) skipped" in warning and f"{NO_IMAGE}.xml" in warning and "is missing" in warning
    at.multiselect(key="scene_models").set_value([run_id])
    run(at)
    at.button(key="scene_run").click()
    run(at)
    score = at.session_state[RESULT_KEY].scores[0]
    assert score.report is not None and len(score.report.photos) == 3
    photo = score.report.worst_photos(6)[0]
    at.button(key=f"scene_open:{run_id}:{photo.name}").click()
    run(at)
    name = f"scene-review-{date.today().isoformat()}"
    assert f"Open project {name}, image {photo.name}" in texts(at, "success")
    review = Project.open(name)
    assert review.list_images() == [photo.name]
    boxes = review.load().boxes(photo.name)
    assert sorted(b.label for b in boxes) == sorted(t.label for t in photo.truths)
    assert tree(voc) == before  # the VOC folder is only read


def test_leaked_photos_are_refused_unless_evaluated_anyway(
    scenes_project: Project, starter_keras: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaked = scenes_project.image_path(f"{PHOTOS[0]}.jpg")
    use_starter(tmp_path, monkeypatch, starter_keras, trained_photo_sha256=[sha256_file(leaked)])
    at = run(app())
    assert at.multiselect(key="scene_models").value == ["starter"]
    errors = texts(at, "error")
    assert (
        "Leak" in errors and "learned from 1 of these 3 photos" in errors and literal(leaked.name) in errors
    )
    assert at.button(key="scene_run").disabled
    at.checkbox(key="scene_allow_leaks").check()
    run(at)
    assert not at.button(key="scene_run").disabled
    at.button(key="scene_run").click()
    run(at)
    assert scene_table(at)["model"].tolist() == ["Starter model (leaked)"]
    assert "marked **leaked**" in texts(at, "warning")


def test_a_model_whose_classes_match_none_is_named_and_not_run(
    scenes_project: Project,
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    starter_keras: bytes,
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-starter"))
    rid = make_run(workspace, model=starter_keras, labels=("cat", "dog"))
    at = run(app())
    assert at.multiselect(key="scene_models").value == [rid]
    errors = texts(at, "error")
    assert "match none of the model's classes" in errors
    assert "mask_weared_incorrect" in errors and "cat, dog" in errors
    assert at.button(key="scene_run").disabled
    assert "starter model is not available" in texts(at, "caption")


def test_no_labelled_project_and_a_bad_folder_say_what_to_do(workspace: Path, run_id: str) -> None:
    Project.create("unlabelled")  # no labelled box: not a scene source
    at = run(app())
    assert "No project has labelled boxes yet" in texts(at, "info")
    at.radio(key="scene_kind").set_value("A Pascal VOC folder")
    run(at)
    at.text_input(key="scene_voc").input(str(workspace / "nowhere"))
    run(at)
    assert "neither a project of this workspace nor a folder" in texts(at, "error")


def test_a_missed_face_is_drawn_dashed_and_errors_are_summed_up() -> None:
    from PIL import Image

    from app.widgets.scene_charts import MISSED_COLOUR, draw_scene, error_summary
    from core.inference.predictor import Face
    from core.inference.scene_scores import PhotoScore, TruthOutcome

    image = Image.new("RGB", (400, 300), (90, 90, 90))
    photo = PhotoScore(
        "p.jpg",
        Path("p.jpg"),
        (
            TruthOutcome("with_mask", "with_mask", (20.0, 20.0, 120.0, 120.0), "missed"),
            TruthOutcome("without_mask", "without_mask", (200.0, 50.0, 300.0, 150.0), "wrong", "with_mask"),
        ),
        (
            Face(200.0, 50.0, 300.0, 150.0, "with_mask", 0.9),
            Face(320.0, 200.0, 380.0, 260.0, "with_mask", 0.8),
        ),
        (1,),
    )
    assert photo.errors == 3 and error_summary(photo) == "1 missed, 1 wrong, 1 false detection"
    drawn = draw_scene(image, photo)
    scale = drawn.width / image.width
    top_edge = [drawn.getpixel((round(x * scale), round(20 * scale))) for x in range(20, 120)]
    white = MISSED_COLOUR.lstrip("#")
    assert tuple(int(white[i : i + 2], 16) for i in (0, 2, 4)) in top_edge  # the dashes
    assert (0, 0, 0) in top_edge  # between the dashes: the black outline
