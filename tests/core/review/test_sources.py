"""core.review.sources: which faces a queue ranks, from projects, folders, snapshots and sends."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from core.annotation.annotations import NONE
from core.annotation.projects import Project, delete_project
from core.review.sources import (
    REVIEWED_KEY,
    ReviewError,
    Source,
    available_sources,
    collect,
    needs_review,
    parse_source,
)
from tests.core.review.conftest import FakeDetector, photo


def test_a_project_gives_its_none_and_model_boxes_and_detects_its_bare_photos(project: Project) -> None:
    detector = FakeDetector()
    got = collect(Source("project", "p"), detector=detector)
    boxed = [c for c in got.candidates if c.box_id]
    assert [(c.image_name, c.label) for c in boxed] == [("a.png", NONE), ("a.png", "no_mask")]
    assert boxed[0].det_score == pytest.approx(0.7), "a None box's score is the detector's"
    assert math.isnan(boxed[1].det_score), "a model-labelled box's score is the model's, not a detector's"
    detected = [c for c in got.candidates if not c.box_id]
    assert [(c.image_name, c.det_score) for c in detected] == [("b.png", 0.95), ("b.png", 0.65)]
    assert all(c.project == "p" for c in got.candidates)
    assert detector.calls == 1, "only the photo with no box goes through the detector"
    assert got.revisions["p"] and got.photos == 2


def test_reviewed_boxes_are_not_queued_again(project: Project) -> None:
    with project.edit() as ann:
        first = ann.boxes("a.png")[0]
        ann.images["a.png"].extra[REVIEWED_KEY] = {first.id: {"label": "mask"}}
    got = collect(Source("project", "p"), detector=FakeDetector())
    assert first.id not in {c.box_id for c in got.candidates}
    assert Project.open("p").load().images["a.png"].extra[REVIEWED_KEY], "the mark survives a save and a load"


def test_detections_are_cached_by_file_digest(workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "one.png").write_bytes(photo(3))
    (folder / "same.png").write_bytes(photo(3))
    detector = FakeDetector()
    first = collect(Source("folder", str(folder)), detector=detector)
    second = collect(Source("folder", str(folder)), detector=detector)
    assert detector.calls == 1, "two files with the same bytes, and a second ranking, reuse the detections"
    assert len(first.candidates) == len(second.candidates) == 4
    assert (workspace / "cache" / "review" / "detections.json").is_file()


def test_unreadable_photos_are_listed_and_a_folder_of_only_those_refused(
    workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ReviewError, match="could be read"):
        collect(Source("folder", str(folder)), detector=FakeDetector())
    (folder / "good.png").write_bytes(photo())
    got = collect(Source("folder", str(folder)), detector=FakeDetector())
    assert len(got.candidates) == 2 and len(got.skipped) == 1 and "bad.jpg" in got.skipped[0]


@pytest.mark.parametrize(
    ("setup", "message"),
    [("empty", "has no images"), ("missing", "no folder"), ("project", "no project")],
)
def test_bad_sources_are_refused_with_nothing_written(
    workspace: Path, tmp_path: Path, setup: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photo here")
    source = Source("project", "ghost") if setup == "project" else Source("folder", str(tmp_path / setup))
    with pytest.raises(ReviewError, match=message):
        collect(source, detector=FakeDetector())
    assert not (workspace / "cache").exists()


def test_parse_source_names_a_project_or_a_folder(project: Project, tmp_path: Path) -> None:
    assert parse_source("p") == Source("project", "p")
    assert parse_source(str(tmp_path)) == Source("folder", str(tmp_path.resolve()))
    assert parse_source("snapshots").kind == "snapshots"
    with pytest.raises(ReviewError, match="neither"):
        parse_source("nowhere-at-all")
    with pytest.raises(ReviewError, match="no source"):
        parse_source("  ")
    assert Source("folder", "/a/b").key != Source("folder", "/c/b").key


def test_snapshots_and_sends_read_their_photos_in_every_project(workspace: Path) -> None:
    live = Project.create("webcam")
    live.add_image("live-20260101-101010-001.jpg", photo(4))
    live.add_image("other.png", photo(5))
    sends = Project.create("predictions-2026-12-01")
    sends.add_image("street.png", photo(6))
    snaps = collect(Source("snapshots"), detector=FakeDetector())
    assert {c.image_name for c in snaps.candidates} == {"live-20260101-101010-001.jpg"}
    sent = collect(Source("sends"), detector=FakeDetector())
    assert {(c.project, c.image_name) for c in sent.candidates} == {("predictions-2026-12-01", "street.png")}
    assert available_sources() == [
        Source("project", "predictions-2026-12-01"),
        Source("project", "webcam"),
        Source("snapshots"),
        Source("sends"),
    ]
    delete_project("webcam")
    assert Source("snapshots") not in available_sources()
    with pytest.raises(ReviewError, match="no Live snapshots"):
        collect(Source("snapshots"), detector=FakeDetector())


@pytest.mark.parametrize(
    ("label", "score", "expected"), [(NONE, None, True), ("mask", 0.8, True), ("mask", None, False)]
)
def test_needs_review(label: str, score: float | None, expected: bool) -> None:
    assert needs_review(label, score) is expected
