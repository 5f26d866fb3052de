"""AppTest of pages/annotate.py: what does not need a real browser canvas."""

from __future__ import annotations

import json
import unicodedata
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from core.annotation.annotations import Annotations, Box
from core.annotation.canvas import drawing_token
from core.annotation.formats.archive import read_zip
from core.annotation.projects import Project
from core.errors import DetectorError
from tests.images import image_bytes
from tests.pages.conftest import open_page, open_section, run


@pytest.fixture
def project(workspace):
    p = Project.create("demo")
    for name in ("IMG_10.png", "IMG_2.png", "IMG_1.png"):
        p.add_image(name, image_bytes((1600, 1200), (200, 180, 160)))
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_box("IMG_1.png", Box(100, 100, 300, 300, "mask"))
    return p


def app(project: str | None = None, image: str | None = None) -> AppTest:
    """The annotator, its URL naming `project` (and `image`) when given."""
    at = open_page("annotate.py")
    if project is not None:
        at.query_params["project"] = project
    if image is not None:
        at.query_params["image"] = image
    return at


def canvas_key(project: Project, image: str) -> str:
    """The session-state key of the canvas showing `image` as it is saved now."""
    return f"canvas-{project.name}-{image}-{drawing_token(project.load(), image)}-None-0"


def test_empty_workspace_asks_for_a_project(workspace) -> None:
    at = run(app())
    assert any("Create a project" in m.value for m in at.markdown)


def test_create_project_from_sidebar(workspace) -> None:
    at = run(app())
    at.sidebar.text_input[0].input("My photos")
    at.sidebar.button[0].click()
    run(at)
    assert (workspace / "projects" / "My_photos" / "annotations.json").is_file()
    assert at.sidebar.selectbox[0].value == "My_photos"


def test_the_url_opens_a_project_then_the_selectbox_and_a_new_project_decide(project: Project) -> None:
    Project.create("zoo")
    at = app("zoo")
    run(at)
    assert at.sidebar.selectbox[0].value == "zoo"  # on arrival, the URL's project
    at.query_params["project"] = "demo"  # a rerun that still carries an older URL
    run(at)
    assert at.sidebar.selectbox[0].value == "zoo"  # the open project stays
    at.sidebar.text_input[0].input("Another")
    at.sidebar.button[0].click()
    run(at)
    assert at.sidebar.selectbox[0].value == "Another"  # a new project is opened at once
    assert at.query_params["project"] in ("Another", ["Another"])
    at.sidebar.selectbox[0].select("demo")
    run(at)
    assert at.query_params["project"] in ("demo", ["demo"])


def test_images_in_natural_order_and_progress(project: Project) -> None:
    at = run(app())
    image_pick = next(s for s in at.selectbox if s.label == "Image")
    assert image_pick.options[0].startswith("1/3 · IMG_1.png")
    assert [o.split(" · ")[1].rstrip(" ✓") for o in image_pick.options] == [
        "IMG_1.png",
        "IMG_2.png",
        "IMG_10.png",
    ]
    assert any("1 of 3" in m.value for m in at.markdown)
    next_btn = next(b for b in at.button if b.label == "Next")
    next_btn.click()
    run(at)
    assert at.query_params["image"] in ("IMG_2.png", ["IMG_2.png"])


def test_canvas_drawing_is_saved_in_original_pixels_and_refusals_explained(project: Project) -> None:
    at = app("demo", "IMG_2.png")
    run(at)
    # 1600 px shown 600 wide: scale 0.375. Feed the canvas a drawing as the browser would.
    key = canvas_key(project, "IMG_2.png")
    objects = [
        {"type": "LabeledRect", "label": "mask", "left": 37.5, "top": 75, "width": 75, "height": 37.5},
        {"type": "LabeledRect", "label": "mask", "left": 300, "top": 300, "width": 1, "height": 40},
    ]
    at.session_state[key] = {"drawing": {"raw": {"objects": objects}, "data": None}, "backgroundFit": None}
    run(at)
    saved = json.loads(project.annotations_path.read_text())
    assert saved["images"]["IMG_2.png"]["rectangles"] == [[100.0, 200.0, 300.0, 300.0]]
    assert saved["images"]["IMG_2.png"]["rect_to_category"] == [1]
    assert any("a side of 5 px or less" in w.value for w in at.warning)


def canvas_state(*boxes: Box, scale: float = 0.375) -> dict:
    objects = [
        {
            "type": "LabeledRect",
            "label": b.label,
            "left": b.x1 * scale,
            "top": b.y1 * scale,
            "width": b.width * scale,
            "height": b.height * scale,
        }
        for b in boxes
    ]
    return {"drawing": {"raw": {"objects": objects}, "data": None}, "backgroundFit": None}


def test_a_canvas_drawn_before_an_import_writes_nothing_back(project: Project) -> None:
    """The canvas still holds the boxes it showed before an import: they must not come back as
    moves or new boxes (issue 12), and the imported boxes stay exactly as imported."""
    at = app("demo", "IMG_1.png")
    run(at)
    old = project.load().boxes("IMG_1.png")
    stale = canvas_state(*old, Box(600, 600, 800, 800, "mask"))  # plus one drawn, not yet sent
    at.session_state["canvas-demo-IMG_1.png-0"] = stale  # the key before canvases were keyed by content
    at.session_state[canvas_key(project, "IMG_1.png")] = stale
    imported = Annotations(["mask"])
    imported.add_box("IMG_1.png", Box(900, 100, 1100, 300, "mask"))
    imported.add_box("IMG_1.png", Box(1200, 100, 1400, 300))
    project.import_annotations(imported, replace=True)  # another tab, or the Import section
    run(at)
    assert any("was not applied" in w.value for w in at.warning)  # the dropped drawing is said
    run(at)
    assert project.load().boxes("IMG_1.png") == imported.boxes("IMG_1.png")


def test_messages_survive_the_reruns_that_follow_an_action(project: Project) -> None:
    at = app("demo")
    run(at)
    open_section(at, "Categories")
    new_cat = next(t for t in at.text_input if t.label == "New category")
    new_cat.input("no_mask")
    next(b for b in at.button if b.label == "Add category").click()
    run(at)
    run(at)  # a rerun no one asked for (the canvas reporting, the URL)
    assert any("Added category no_mask" in s.value for s in at.success)
    assert at.get("button_group")[0].value == "Categories"  # the section kept its place


def test_relabel_and_delete_from_box_list(project: Project) -> None:
    at = app("demo")
    run(at)
    box_select = next(s for s in at.selectbox if s.label.startswith("#1 ["))
    box_select.select("None")
    run(at)
    assert project.load().boxes("IMG_1.png")[0].label == "None"
    delete = next(b for b in at.button if b.label == "✕")
    delete.click()
    run(at)
    assert project.load().boxes("IMG_1.png") == []


def test_categories_add_rename_delete(project: Project) -> None:
    at = run(app())
    open_section(at, "Categories")
    new_cat = next(t for t in at.text_input if t.label == "New category")
    new_cat.input("<b>x</b>")
    next(b for b in at.button if b.label == "Add category").click()
    run(at)
    assert project.load().categories == ["None", "mask", "<b>x</b>"]
    next(s for s in at.selectbox if s.label == "Category to rename").select("mask")
    next(t for t in at.text_input if t.label == "New name").input("op_mask")
    next(b for b in at.button if b.label == "Rename").click()
    run(at)
    ann = project.load()
    assert ann.categories == ["None", "op_mask", "<b>x</b>"]
    assert ann.boxes("IMG_1.png")[0].label == "op_mask"
    next(s for s in at.selectbox if s.label == "Category to delete").select("op_mask")
    next(c for c in at.checkbox if c.label.startswith("Its boxes")).check()
    next(b for b in at.button if b.label == "Delete").click()
    run(at)
    ann = project.load()
    assert ann.categories == ["None", "<b>x</b>"]
    assert ann.boxes("IMG_1.png")[0].label == "None"


def test_duplicate_category_is_refused_with_a_message(project: Project) -> None:
    at = run(app())
    open_section(at, "Categories")
    next(t for t in at.text_input if t.label == "New category").input("mask")
    next(b for b in at.button if b.label == "Add category").click()
    run(at)
    assert any("already exists" in e.value for e in at.error)
    assert project.load().categories == ["None", "mask"]


def test_a_detector_that_cannot_load_is_said_and_nothing_reruns_it_away(project: Project) -> None:
    at = run(app("demo"))
    preannotate_one = next(b for b in at.button if b.label == "This image" and b.key != "classify_one")
    preannotate_one.click()
    failure = DetectorError("the detector weights are missing")
    with mock.patch("app.widgets.faces.get_detector", side_effect=failure):
        run(at)
    assert any("detector weights are missing" in e.value for e in at.error)


def test_classify_unlabelled_boxes_without_an_active_model_says_what_to_do(project: Project) -> None:
    at = run(app())
    assert any("No active model" in c.value and "Experiments" in c.value for c in at.caption)


def test_flagged_boxes_name_their_rule_and_the_yolo_zip_is_prepared_on_request(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box_or_flag("IMG_1.png", Box(120, 120, 200, 200, "mask"))  # inside box 1
    at = run(app())
    flagged = next(s for s in at.selectbox if s.label.startswith("#2 ["))
    assert "breaks a rule: overlaps another box by more than 20%" in flagged.label
    open_section(at, "Import / export")
    assert any(r.label == "Box rules" for r in at.radio)
    prepare = next(b for b in at.button if b.label.startswith("Prepare YOLO"))
    prepare.click()
    run(at)
    _held, (data, name, _mime) = at.session_state["export-demo-yolo"]
    assert name == "demo_yolo.zip" and "data.yaml" in read_zip(data)
    run(at)  # kept while nothing changes: a download button, no prepare button
    assert not any(b.label.startswith("Prepare YOLO") for b in at.button)
    assert project.load().flagged_count() == 1  # nothing about the export changed the project


def test_classify_threshold_starts_at_the_active_runs_suggested_threshold(
    project: Project,
    tiny_model_files: tuple[bytes, bytes],
) -> None:
    """Issue 12: the annotator started at 0.60 while Predict suggested 0.85 for the same model."""
    from core.inference.predictor import DEFAULT_THRESHOLD
    from core.runs.active_model import set_active
    from core.runs.models import classifier_for_run
    from core.runs.store import run_path
    from core.runs.thresholds import run_threshold_report
    from tests.core.runs.test_active_model import make_run
    from tests.models.synth import CLASSES, make_dataset_version

    workspace = project.root.parents[1]
    keras_bytes, tflite = tiny_model_files
    version = make_dataset_version(workspace, per_split=(1, 1, 4))
    run_id = make_run(workspace, model=keras_bytes, labels=CLASSES, dataset_version=version)
    (run_path(run_id, workspace) / "best.tflite").write_bytes(tflite)
    set_active(run_id)
    at = app("demo")
    run(at)
    slider = at.slider(key=f"classify_threshold:{run_id}")
    expected = run_threshold_report(classifier_for_run(run_id), run_id).suggestion.threshold
    assert slider.value == pytest.approx(expected)
    assert expected != pytest.approx(DEFAULT_THRESHOLD)  # else this test could not tell them apart


def test_start_here_guide_shows_both_paths_until_a_run_exists(workspace) -> None:
    from tests.fake_runs import finished_run, make_manifest

    at = run(app())
    assert [e.label for e in at.expander if "Start here" in e.label]
    text = "\n".join(m.value for m in at.markdown)
    assert "Annotate your own scenes" in text and "Start from a folder dataset" in text
    finished_run(make_manifest(), "lenet", 8, 0.8)
    run(at)
    assert not [e.label for e in at.expander if "Start here" in e.label]


def test_the_box_list_acts_by_id_on_boxes_changed_elsewhere(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("no_mask")
        for k in range(3):
            ann.add_box("IMG_2.png", Box(100 + 300 * k, 100, 300 + 300 * k, 300))
    first, second, third = project.load().boxes("IMG_2.png")
    at = app("demo", "IMG_2.png")
    run(at)
    with project.edit() as ann:  # another tab deletes the first box: the others move up
        ann.delete_box_by_id("IMG_2.png", first.id)
    at.button(key=f"del-IMG_2.png-{third.id}").click()  # ✕ of #3 as this page shows it
    run(at)
    assert [b.id for b in project.load().boxes("IMG_2.png")] == [second.id]
    with project.edit() as ann:  # ... and now the second
        ann.delete_box_by_id("IMG_2.png", second.id)
    at.button(key=f"del-IMG_2.png-{second.id}").click()  # gone: its ✕ is gone, nothing changes
    run(at)
    assert project.load().boxes("IMG_2.png") == []
    assert not at.exception


def test_the_face_grid_is_given_every_box_by_id_with_its_crop(project: Project) -> None:
    with project.edit() as ann:
        for k in range(2):
            ann.add_box("IMG_2.png", Box(100 + 300 * k, 100, 300 + 300 * k, 300))
    at = app("demo", "IMG_2.png")
    run(at)
    (grid,) = [e for e in at.get("bidi_component") if e.proto.component_name == "face_grid"]
    data = json.loads(grid.proto.json)
    assert [b["id"] for b in data["boxes"]] == [b.id for b in project.load().boxes("IMG_2.png")]
    assert [b["n"] for b in data["boxes"]] == [1, 2]
    assert all(b["crop"].startswith("data:image/jpeg;base64,") for b in data["boxes"])
    assert [c["key"] for c in data["categories"]][-1] == 0


def test_delete_image_and_delete_project_after_confirmation(project: Project) -> None:
    at = app("demo", "IMG_1.png")
    run(at)
    at.button(key="confirm_delete_image").click()
    run(at)
    assert project.list_images() == ["IMG_2.png", "IMG_10.png"]
    assert "IMG_1.png" not in project.load().images
    assert at.query_params["image"] in ("IMG_2.png", ["IMG_2.png"])
    assert at.button(key="confirm_delete_project").disabled  # until the name is typed
    at.text_input(key="confirm_project_name-demo").input("demo")
    run(at)
    at.button(key="confirm_delete_project").click()
    run(at)
    assert not project.root.exists()
    assert any("Deleted project demo" in s.value for s in at.success)


def test_a_new_project_starts_with_the_open_projects_categories(project: Project) -> None:
    at = app("demo")
    run(at)
    cats = next(t for t in at.sidebar.text_input if t.label == "Its categories")
    assert cats.value == "mask"  # the project open now (the last used), not only "None"
    next(t for t in at.sidebar.text_input if t.label == "New project name").input("second")
    cats.input("mask, no_mask")
    next(b for b in at.sidebar.button if b.label == "Create project").click()
    run(at)
    assert Project.open("second").load().categories == ["None", "mask", "no_mask"]


def test_a_first_project_starts_with_the_preset(workspace) -> None:
    at = run(app())
    next(t for t in at.sidebar.text_input if t.label == "New project name").input("first")
    next(b for b in at.sidebar.button if b.label == "Create project").click()
    run(at)
    assert Project.open("first").load().categories == [
        "None",
        "with_mask",
        "without_mask",
        "mask_worn_incorrectly",
    ]


def test_annotated_means_no_none_box(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box("IMG_2.png", Box(10, 10, 200, 200))  # pre-annotated, still "None"
    at = app("demo")
    run(at)
    assert any("1 of 3" in m.value for m in at.markdown)  # IMG_1 only


def test_a_change_elsewhere_with_nothing_drawn_says_nothing(project: Project) -> None:
    at = app("demo", "IMG_1.png")
    run(at)
    key = canvas_key(project, "IMG_1.png")
    at.session_state[key] = canvas_state(*project.load().boxes("IMG_1.png"))  # as it was given
    with project.edit() as ann:  # another tab adds a box
        ann.add_box("IMG_1.png", Box(900, 100, 1100, 300))
    run(at)
    assert not any("was not applied" in w.value for w in at.warning)
    assert len(project.load().boxes("IMG_1.png")) == 2


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("ma\u200bsk2", "contains an invisible character (U+200B ZERO WIDTH SPACE)"),
        (unicodedata.normalize("NFD", "masqué"), "looks the same as 'masqué'"),
    ],
)
def test_a_look_alike_or_invisible_category_name_is_refused_with_its_reason(
    project: Project, typed: str, reason: str
) -> None:
    with project.edit() as ann:
        ann.add_category(unicodedata.normalize("NFC", "masqué"))
    at = run(app())
    open_section(at, "Categories")
    next(t for t in at.text_input if t.label == "New category").input(typed)
    next(b for b in at.button if b.label == "Add category").click()
    run(at)
    assert any(reason in e.value for e in at.error)
    assert project.load().categories == ["None", "mask", unicodedata.normalize("NFC", "masqué")]
