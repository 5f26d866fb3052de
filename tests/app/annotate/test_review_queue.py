"""AppTest of the Annotate page's Review section (app/annotate/review_queue.py): the queue is built
and shown in the face grid's review mode, answers land in the chosen project only, and bad
input (a missing or empty folder, a project whose classes do not fit) is said with nothing
written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from app.annotate.review_queue import apply_ops
from core.annotation.annotations import Box
from core.annotation.labelling import LabelOp
from core.annotation.projects import Project
from core.review.queue import load_queue, queue_path
from core.review.sources import Source
from core.runs.active_model import set_active
from tests.core.runs.test_active_model import make_run
from tests.images import image_bytes
from tests.pages.conftest import open_page, run, texts
from tests.tiny_models import confident_tiny_run


@pytest.fixture(autouse=True)
def no_feature_base() -> Iterator[None]:
    """No MobileNetV2 base in page tests: near-duplicates are not collapsed (a note says so)."""
    with mock.patch("core.review.ranking.base_features_of", side_effect=OSError("no base in tests")):
        yield


@pytest.fixture
def projects(workspace: Path) -> dict[str, Project]:
    """An active tiny model; "street" with 2 photos of 2 unlabelled boxes each, an empty
    "labels" project and an "other" project with one hand label (both with the model's classes)."""
    confident_tiny_run(workspace)
    out = {}
    for name in ("street", "labels", "other"):
        p = Project.create(name)
        with p.edit() as ann:
            ann.add_category("with_mask")
            ann.add_category("without_mask")
        out[name] = p
    for k in range(2):
        img = out["street"].add_image(f"photo{k}.png", image_bytes((400, 300), (40 + 90 * k, 120, 200)))
        with out["street"].edit() as ann:
            ann.add_box(img, Box(20, 20, 120, 140))
            ann.add_box(img, Box(200, 40, 320, 180))
    other = out["other"].add_image("o.png", image_bytes((200, 200), (10, 10, 10)))
    with out["other"].edit() as ann:
        ann.add_box(other, Box(10, 10, 100, 100, "with_mask"))
    return out


def digest(p: Project) -> str:
    return hashlib.sha256(p.annotations_path.read_bytes()).hexdigest()


def review_page(project: str = "street") -> AppTest:
    at = open_page("annotate.py", timeout=120)
    at.query_params["project"] = project
    at.query_params["section"] = "review"
    return run(at)


def grid(at: AppTest) -> dict:
    (g,) = [e for e in at.get("bidi_component") if e.proto.component_name == "face_grid"]
    return json.loads(g.proto.json)


def build(at: AppTest) -> AppTest:
    at.button(key="rq_build").click()
    return run(at)


def test_the_queue_is_shown_in_the_grid_and_answers_land_in_the_chosen_project_only(
    projects: dict[str, Project],
) -> None:
    before = {n: digest(p) for n, p in projects.items()}
    at = review_page()
    assert "Build the queue" in texts(at)
    assert not [e for e in at.get("bidi_component") if e.proto.component_name == "face_grid"]
    build(at)
    assert {n: digest(p) for n, p in projects.items()} == before  # building writes no project
    assert "Choose the project the labels go to" in texts(at)
    at.selectbox(key="rq_target").select("labels")
    run(at)
    data = grid(at)
    assert data["review"] is True
    faces = data["boxes"]
    assert len(faces) == 4 and [f["n"] for f in faces] == [1, 2, 3, 4]
    assert all(f["guess"] in ("with_mask", "without_mask") and not f["reviewed"] for f in faces)
    assert all(f["badge"] and f["crop"].startswith("data:image/jpeg") for f in faces)
    assert all(f["context"].startswith("data:image/jpeg") for f in faces)
    assert [c["key"] for c in data["categories"]] == [1, 2]  # 1-9 pick a class, no "None" key

    # Enter on the first face (its guess), 2 on the second, X on the third: the grid's batch
    queue = load_queue(Source("project", "street"))
    first, second, third = queue.entries[:3]
    ops = [
        LabelOp(first.key, first.guess, "", 1),
        LabelOp(second.key, "without_mask", "", 2),
        LabelOp(third.key, None, "", 3),
    ]
    assert apply_ops(Source("project", "street"), "labels", ops) == []
    labels = projects["labels"].load()
    saved = sorted((img, b.label) for img in labels.images for b in labels.boxes(img))
    assert saved == sorted([(first.image_name, first.guess), (second.image_name, "without_mask")])
    assert digest(projects["street"]) == before["street"]  # the reviewed source is not written
    assert digest(projects["other"]) == before["other"]
    run(at)
    assert [m.value for m in at.metric][:2] == ["3", "1"]  # reviewed, remaining
    shown = {f["id"]: f for f in grid(at)["boxes"]}
    assert shown[first.key]["reviewed"] and shown[first.key]["label"] == first.guess
    assert shown[third.key]["reviewed"] and shown[third.key]["label"] is None
    # answering a face twice is refused, with a message, and writes nothing more
    again = digest(projects["labels"])
    refused = apply_ops(Source("project", "street"), "labels", [LabelOp(first.key, "with_mask", "x", 1)])
    assert refused and "already reviewed" in refused[0]
    assert digest(projects["labels"]) == again


def test_a_missing_or_empty_folder_is_said_and_nothing_is_written(
    projects: dict[str, Project], tmp_path: Path
) -> None:
    before = {n: digest(p) for n, p in projects.items()}
    at = review_page()
    at.radio(key="rq_kind").set_value("snapshots")
    run(at)
    assert "No Live snapshots in any project yet" in texts(at, "info")
    at.radio(key="rq_kind").set_value("folder")
    run(at)
    at.text_input(key="rq_folder").input(str(tmp_path / "nowhere"))
    run(at)
    assert "no folder" in texts(at, "error")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a photo")
    at.text_input(key="rq_folder").input(str(empty))
    run(at)
    build(at)
    assert "has no images" in texts(at, "error")
    assert not queue_path(Source("folder", str(empty))).exists()
    assert {n: digest(p) for n, p in projects.items()} == before


def test_a_project_whose_classes_do_not_fit_the_model_gets_no_grid(projects: dict[str, Project]) -> None:
    cats = Project.create("pets")
    with cats.edit() as ann:
        ann.add_category("cat")
    at = review_page()
    build(at)
    at.selectbox(key="rq_target").select("pets")
    run(at)
    assert "do not match the categories" in texts(at, "error")
    assert not [e for e in at.get("bidi_component") if e.proto.component_name == "face_grid"]


def test_a_new_active_model_is_said_and_the_queue_is_scored_again(
    projects: dict[str, Project], workspace: Path
) -> None:
    at = review_page()
    build(at)
    old = load_queue(Source("project", "street"))
    new_run = confident_tiny_run(workspace)
    set_active(new_run, workspace)
    run(at)
    assert "The queue is out of date" in texts(at, "warning")
    assert f"Scored again because the active model changed (from {old.model.run_id} to {new_run})" in texts(
        at, "caption"
    ).replace("\\", "")
    assert load_queue(Source("project", "street")).model.run_id == new_run


def test_retrain_with_my_reviews_names_the_run_and_offers_the_scene_test(
    projects: dict[str, Project], workspace: Path
) -> None:
    from core.review.retrain import Retrain
    from core.runs.active_model import get_active

    at = review_page()
    build(at)
    at.selectbox(key="rq_target").select("labels")
    run(at)
    assert at.button(key="rq_retrain").disabled  # nothing reviewed yet
    entry = load_queue(Source("project", "street")).entries[0]
    apply_ops(Source("project", "street"), "labels", [LabelOp(entry.key, entry.guess, "", 1)])
    run(at)
    assert "1 reviewed face(s) in labels" in texts(at, "caption")
    done = make_run(workspace)  # a finished run stands for the retrained one
    queued = Retrain(done, "labels-reviews", "v1", f"run:{get_active()}", 1)
    with mock.patch("app.annotate.review_retrain.retrain_with_reviews", return_value=queued) as retrain:
        at.button(key="rq_retrain").click()
        run(at)
    retrain.assert_called_once_with("labels", model_ref=None)  # the active model's queue
    assert f"Run {done} queued on labels-reviews v1" in texts(at, "success").replace("\\", "")
    assert "Experiments → Queue" in texts(at, "markdown")  # a link when served (run alone here)
    # "other" has labelled boxes: the scene test compares the model before and after on it
    assert at.selectbox(key="rq_scenes").value == "other"
    assert f"Scene test: {get_active()} before, {done} after" in [e.label for e in at.expander]
    assert at.button(key="scene_run")
