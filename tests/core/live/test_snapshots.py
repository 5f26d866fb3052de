"""core.live.snapshots: the last processed frame saved into a project with its faces as
pre-annotations, names, and how a model's labels fit a project's categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.annotation.annotations import NONE
from core.annotation.projects import Project
from core.errors import LiveError
from core.inference.predictor import FACE, UNCERTAIN, Face, FrameResult
from core.live.processor import LiveProcessor
from core.live.snapshots import Snapshot, save_snapshot, snapshot_name
from tests.core.live.stubs import H, W


# ----- snapshots -------------------------------------------------------------------------------
def snap(*faces: Face) -> Snapshot:
    img = np.zeros((H, W, 3), np.uint8)
    img[:, :, 1] = 120
    return Snapshot(img, FrameResult(tuple(faces), W, H, 1.0, 1.0), 0.0)


FACES = (
    Face(10, 10, 40, 50, "with_mask", 0.9, {"with_mask": 0.9, "without_mask": 0.1}),
    Face(60, 10, 90, 50, "without_mask", 0.8, {"with_mask": 0.2, "without_mask": 0.8}),
    Face(110, 10, 150, 50, UNCERTAIN, 0.55, {"with_mask": 0.55, "without_mask": 0.45}),
)


def project_with(workspace: Path, *categories: str) -> Project:
    p = Project.create("webcam")
    with p.edit() as ann:
        for c in categories:
            ann.add_category(c)
    return p


def test_a_snapshot_becomes_an_image_with_pre_annotations(workspace: Path) -> None:
    project = project_with(workspace, "with_mask")
    report = save_snapshot(project, snap(*FACES), name="live-1.jpg")
    assert report.image == "live-1.jpg" and report.added == 3
    assert project.image_size("live-1.jpg") == (W, H)
    boxes = project.load().boxes("live-1.jpg")
    assert [b.label for b in boxes] == ["with_mask", NONE, NONE]  # unknown and uncertain -> None
    assert [b.xyxy for b in boxes][0] == (10, 10, 40, 50) and boxes[0].score == 0.9
    assert report.mapping == {"with_mask": "with_mask", "without_mask": NONE, UNCERTAIN: NONE}


def test_a_snapshot_can_add_the_missing_classes(workspace: Path) -> None:
    project = project_with(workspace)
    save_snapshot(project, snap(*FACES), add_categories=("with_mask", "without_mask"), name="a.jpg")
    assert [b.label for b in project.load().boxes("a.jpg")] == ["with_mask", "without_mask", NONE]


def test_a_snapshot_can_label_every_face_as_one_class(workspace: Path) -> None:
    project = project_with(workspace, "with_mask", "no mask")
    save_snapshot(project, snap(*FACES), label="no mask", name="b.jpg")
    assert {b.label for b in project.load().boxes("b.jpg")} == {"no mask"}
    with pytest.raises(LiveError, match="no category 'cat'"):
        save_snapshot(project, snap(*FACES), label="cat")


def test_box_rules_apply_to_snapshots(workspace: Path) -> None:
    project = project_with(workspace)
    twin = Face(12, 12, 40, 50, FACE, 0.7)
    tiny = Face(0, 0, 4, 4, FACE, 0.7)
    report = save_snapshot(project, snap(FACES[0], twin, tiny), name="c.jpg")
    assert report.added == 1 and len(report.refused) == 2
    assert any("overlaps" in r for r in report.refused)


def test_no_snapshot_without_a_processed_frame(workspace: Path) -> None:
    with pytest.raises(LiveError, match="start the camera"):
        save_snapshot(project_with(workspace), None)
    assert LiveProcessor().snapshot() is None


def test_snapshot_names_sort_by_time() -> None:
    from datetime import datetime

    assert snapshot_name(datetime(2026, 1, 2, 3, 4, 5, 678_000)) == "live-20260102-030405-678.jpg"
