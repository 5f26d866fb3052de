from __future__ import annotations

import numpy as np

from core.annotation.annotations import NONE
from core.annotation.preannotate import preannotate
from core.annotation.projects import Project
from core.vision.detections import Detection
from tests.images import image_bytes


class FakeDetector:
    name = "fake"

    def __init__(self, dets: list[Detection]) -> None:
        self.dets = dets
        self.seen: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.seen.append(image.shape[:2])
        return self.dets


def test_faces_become_none_boxes_with_scores_and_rules_apply(workspace) -> None:
    project = Project.create("p")
    name = project.add_image("a.png", image_bytes((200, 100), (120, 90, 60)))
    det = FakeDetector(
        [
            Detection(10, 10, 60, 60, 0.93),
            Detection(12, 12, 58, 58, 0.5),  # overlaps the first: refused
            Detection(190, 90, 260, 160, 0.8),  # clipped to 10x10 at the corner
            Detection(100, 10, 103, 90, 0.7),  # 3 px wide: refused
        ]
    )
    report = preannotate(project, [name], det)
    assert det.seen == [(100, 200)]
    assert report.added == 2 and len(report.refused) == 2
    boxes = project.load().boxes(name)
    assert [b.xyxy for b in boxes] == [(10, 10, 60, 60), (190, 90, 200, 100)]
    assert all(b.label == NONE for b in boxes) and boxes[0].score == 0.93
    again = preannotate(project, [name], det)
    assert again.added == 0, "running twice must not box the same faces twice"


def test_unreadable_image_is_reported_not_fatal(workspace) -> None:
    project = Project.create("p")
    good = project.add_image("a.png", image_bytes((50, 50), (120, 90, 60)))
    (project.images_dir / "broken.jpg").write_bytes(b"not an image")
    report = preannotate(project, ["broken.jpg", good], FakeDetector([Detection(5, 5, 30, 30, 0.9)]))
    assert report.added == 1 and len(report.failed) == 1 and "broken.jpg" in report.failed[0]
