"""core.review.queue: the queue on disk, staleness when the model changes, progress."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.annotation.projects import Project
from core.review.queue import (
    ACTIVE,
    Queue,
    build_queue,
    current_queue,
    load_queue,
    progress,
    queue_is_stale,
    queue_path,
)
from core.review.sources import ReviewError, Source
from core.runs.active_model import set_active
from core.runs.store import run_path
from tests.core.review.conftest import ColourModel, FakeDetector
from tests.core.runs.test_active_model import make_run

SOURCE = Source("project", "p")


def build(**kw):
    return build_queue(
        SOURCE,
        kw.pop("model_ref", None),
        detector=FakeDetector(),
        classifier=ColourModel(),
        features=False,
        **kw,
    )


def test_build_saves_a_queue_that_loads_back(project: Project, run_id: str) -> None:
    set_active(run_id)
    queue = build(share=0.0)
    path = queue_path(SOURCE)
    assert path == Path(os.environ["MASK_STUDIO_WORKSPACE"]) / "review" / "project-p.json"
    data = json.loads(path.read_text())
    assert data["model"]["run_id"] == run_id and data["model_ref"] == ACTIVE
    assert data["revisions"]["p"] and len(data["entries"]) == 4
    first = data["entries"][0]
    assert {"image", "xyxy", "box_id", "priority", "guess", "confidence", "probs", "why"} <= set(first)
    again = load_queue(SOURCE)
    assert again is not None and [e.key for e in again.entries] == [e.key for e in queue.entries]
    assert again.model == queue.model and again.revisions == queue.revisions


def test_a_model_whose_classes_do_not_match_is_refused_and_nothing_written(
    project: Project, workspace: Path
) -> None:
    other = make_run(workspace, labels=("cat", "dog"))
    with pytest.raises(ReviewError, match="do not match"):
        build_queue(SOURCE, other, detector=FakeDetector(), features=False)
    assert not queue_path(SOURCE).exists() and not (workspace / "cache").exists()


def test_a_classifier_that_is_not_the_named_model_is_refused(project: Project, workspace: Path) -> None:
    other = make_run(workspace, labels=("cat", "dog"))
    with pytest.raises(ReviewError):
        build_queue(
            Source("folder", str(project.images_dir)),
            other,
            detector=FakeDetector(),
            classifier=ColourModel(),
        )
    assert not queue_path(Source("folder", str(project.images_dir))).exists()


def test_a_queue_is_stale_when_the_active_model_changes_or_is_retrained(
    project: Project, run_id: str, workspace: Path
) -> None:
    set_active(run_id)
    queue = build()
    assert queue_is_stale(queue) is None
    model = run_path(run_id) / "best.keras"
    os.utime(model, (1, 1))
    assert queue_is_stale(queue) is None, "a touched file with the same bytes is the same model"
    model.write_bytes(b"retrained")
    assert "changed" in (queue_is_stale(queue) or "")
    queue = build()
    newer = make_run(workspace, labels=("mask", "no_mask"))
    set_active(newer)
    assert "active model changed" in (queue_is_stale(queue) or "")
    pinned = build(model_ref=run_id)
    assert pinned.model_ref == run_id and queue_is_stale(pinned) is None, (
        "a queue for a named run follows that run"
    )


def test_rescoring_keeps_the_reviews_made(project: Project, run_id: str) -> None:
    set_active(run_id)
    queue = build(share=0.0)
    first = queue.entries[0]
    first.review = {"action": "accept", "label": first.guess, "correct": True}
    from core.review.queue import save_queue

    save_queue(queue)
    again = build(share=0.0)
    assert again.entries[0].key == first.key and again.entries[0].review == first.review
    assert [e.key for e in again.entries].count(first.key) == 1 and len(again.entries) == 4
    assert current_queue(SOURCE, detector=FakeDetector(), classifier=ColourModel()).entries[0].review


def test_progress_estimates_accuracy_from_the_reviewed_random_faces(project: Project, run_id: str) -> None:
    set_active(run_id)
    queue = build(share=0.5, seed=1)
    assert progress(queue).accuracy is None and progress(queue).remaining == 4
    randoms = [e for e in queue.entries if e.random]
    others = [e for e in queue.entries if not e.random]
    randoms[0].review = {"action": "accept", "correct": True}
    randoms[1].review = {"action": "label", "correct": False}
    others[0].review = {"action": "label", "correct": False}  # not random: not in the estimate
    others[1].review = {"action": "not_face", "correct": False}
    p = progress(queue)
    assert (p.reviewed, p.remaining, p.random_reviewed) == (4, 0, 2)
    assert p.accuracy is not None and p.accuracy[0] == pytest.approx(0.5)
    randoms[1].review = {"action": "label", "correct": False, "model_digest": "an older model"}
    p = progress(queue)
    assert p.random_reviewed == 1 and p.accuracy is not None and p.accuracy[0] == pytest.approx(1.0)


def test_an_unreadable_queue_file_reads_as_none(workspace: Path) -> None:
    path = queue_path(SOURCE)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert load_queue(SOURCE) is None
    assert Queue.from_dict({"format": 99}) is None
