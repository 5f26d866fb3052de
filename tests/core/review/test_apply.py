"""core.review.apply: reviews land in the chosen project by box id, undoably, marked reviewed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotation.annotations import NONE
from core.annotation.formats.seed_json import loads_seed_json
from core.annotation.projects import Project
from core.review.apply import ACCEPT, LABEL, NOT_FACE, Review, apply_reviews, undo_reviews
from core.review.queue import Queue, build_queue, load_queue
from core.review.sources import REVIEWED_KEY, ReviewError, Source, collect
from core.runs.active_model import set_active
from tests.core.review.conftest import ColourModel, FakeDetector, photo

SOURCE = Source("project", "p")


def queue_of(source: Source = SOURCE) -> Queue:
    return build_queue(
        source, None, detector=FakeDetector(), classifier=ColourModel(), features=False, share=0.0
    )


def by_box(queue: Queue, box_id: str):
    return next(e for e in queue.entries if e.box_id == box_id)


@pytest.fixture
def queue(project: Project, run_id: str) -> Queue:
    set_active(run_id)
    return queue_of()


def test_accept_label_and_not_a_face_apply_by_box_id_as_one_undoable_change(
    project: Project, queue: Queue
) -> None:
    none_box, model_box, hand_box = project.load().boxes("a.png")
    bare = [e for e in queue.entries if not e.box_id]
    versions = len(project.versions())
    report = apply_reviews(
        queue,
        [
            Review(by_box(queue, none_box.id).key, ACCEPT),
            Review(by_box(queue, model_box.id).key, NOT_FACE),
            Review(bare[0].key, LABEL, "no_mask"),
            Review(bare[1].key, NOT_FACE),
        ],
        "p",
    )
    assert (report.applied, report.refused) == (4, [])
    assert len(project.versions()) == versions + 1, "one batch is one version"
    ann = project.load()
    a = ann.boxes("a.png")
    assert [(b.id, b.label, b.score) for b in a] == [(none_box.id, "mask", None), (hand_box.id, "mask", None)]
    assert set(ann.images["a.png"].extra[REVIEWED_KEY]) == {none_box.id}
    b = ann.boxes("b.png")
    assert [(b_.label, b_.score) for b_ in b] == [("no_mask", None)], (
        "a detection becomes a human box; not a face writes nothing"
    )
    assert set(ann.images["b.png"].extra[REVIEWED_KEY]) == {b[0].id}
    saved = load_queue(SOURCE)
    assert saved is not None
    reviewed = saved.entry(by_box(queue, none_box.id).key)
    assert reviewed is not None and reviewed.review is not None
    assert reviewed.review["correct"] is True and reviewed.review["label"] == "mask"
    # undo takes the whole batch back, in the project and in the queue
    assert undo_reviews(saved, "p") == 4, 'the whole batch, its "not a face" answers too'
    assert [b_.label for b_ in project.load().boxes("a.png")] == [NONE, "no_mask", "mask"]
    assert REVIEWED_KEY not in project.load().images["a.png"].extra


def test_a_review_of_a_box_gone_since_is_refused_and_one_still_there_applied(
    project: Project, queue: Queue
) -> None:
    none_box, model_box, _ = project.load().boxes("a.png")
    with project.edit() as ann:  # another tab deletes one box and adds a category: a newer revision
        ann.delete_box_by_id("a.png", model_box.id)
        ann.add_category("other")
    report = apply_reviews(
        queue,
        [Review(by_box(queue, model_box.id).key, ACCEPT), Review(by_box(queue, none_box.id).key, ACCEPT)],
        "p",
    )
    assert report.applied == 1 and len(report.refused) == 1 and "gone" in report.refused[0]
    assert project.load().box_by_id("a.png", none_box.id).label == "mask"


def test_a_box_labelled_by_hand_since_is_not_overwritten(project: Project, queue: Queue) -> None:
    none_box = project.load().boxes("a.png")[0]
    with project.edit() as ann:
        ann.set_label_by_id("a.png", none_box.id, "no_mask")
    report = apply_reviews(queue, [Review(by_box(queue, none_box.id).key, ACCEPT)], "p")
    assert report.applied == 0 and "by hand" in report.refused[0]
    assert project.load().box_by_id("a.png", none_box.id).label == "no_mask"


def test_folder_faces_go_into_the_chosen_project_only(workspace: Path, tmp_path: Path, run_id: str) -> None:
    set_active(run_id)
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "street.png").write_bytes(photo(7))
    target, bystander = Project.create("target"), Project.create("bystander")
    before = bystander.annotations_path.read_bytes()
    queue = queue_of(Source("folder", str(folder)))
    report = apply_reviews(queue, [Review(e.key, ACCEPT) for e in queue.entries], "target")
    assert report.applied == 2 and not report.refused
    ann = target.load()
    assert target.list_images() == ["street.png"]
    assert sorted(b.label for b in ann.boxes("street.png")) == ["mask", "no_mask"]
    assert {"mask", "no_mask"} <= set(ann.categories), "the classes are added to the chosen project"
    assert bystander.annotations_path.read_bytes() == before and bystander.list_images() == []


def test_bad_reviews_are_refused_one_by_one(project: Project, queue: Queue) -> None:
    entry = queue.entries[0]
    report = apply_reviews(
        queue,
        [
            Review("nope", ACCEPT),
            Review(entry.key, "shrug"),
            Review(entry.key, LABEL, "None"),
            Review(entry.key, LABEL, ""),
        ],
        "p",
    )
    assert report.applied == 0 and len(report.refused) == 4
    apply_reviews(queue, [Review(entry.key, ACCEPT)], "p")
    assert "already reviewed" in apply_reviews(queue, [Review(entry.key, ACCEPT)], "p").refused[0]


def test_a_missing_project_is_refused_with_nothing_written(project: Project, queue: Queue) -> None:
    before = project.annotations_path.read_bytes()
    with pytest.raises(ReviewError, match="no project"):
        apply_reviews(queue, [Review(queue.entries[0].key, ACCEPT)], "ghost")
    assert project.annotations_path.read_bytes() == before
    reloaded = load_queue(SOURCE)
    assert reloaded is not None and all(e.review is None for e in reloaded.entries)


def test_older_files_without_the_reviewed_map_still_load(project: Project) -> None:
    data = b'{"categories": ["None", "mask"], "images": {"x.png": {"rectangles": [[1, 1, 20, 20]], "rect_to_category": [1]}}}'
    ann = loads_seed_json(data, file="annotations.json").annotations
    assert ann.boxes("x.png")[0].label == "mask" and REVIEWED_KEY not in ann.images["x.png"].extra
    assert collect(SOURCE, detector=FakeDetector()).candidates


def test_a_face_whose_photo_was_deleted_since_is_refused_and_the_rest_applied(
    project: Project, queue: Queue
) -> None:
    bare = [e for e in queue.entries if not e.box_id]
    boxed = [e for e in queue.entries if e.box_id]
    project.delete_image("b.png")
    report = apply_reviews(queue, [Review(bare[0].key, ACCEPT), Review(boxed[0].key, ACCEPT)], "p")
    assert report.applied == 1 and len(report.refused) == 1 and "b.png" in report.refused[0]
    assert "b.png" not in project.load().images


def test_two_copies_of_a_queue_never_save_over_each_other(project: Project, queue: Queue) -> None:
    other = load_queue(SOURCE)  # a second tab or process holding the same queue
    assert other is not None
    first, second = queue.entries[0].key, queue.entries[1].key
    assert apply_reviews(queue, [Review(first, ACCEPT)], "p").applied == 1
    again = apply_reviews(other, [Review(first, ACCEPT)], "p")
    assert again.applied == 0 and "already reviewed" in again.refused[0]
    assert apply_reviews(other, [Review(second, ACCEPT)], "p").applied == 1
    saved = load_queue(SOURCE)
    assert saved is not None
    assert saved.entry(first).review is not None and saved.entry(second).review is not None
