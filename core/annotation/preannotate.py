"""Pre-annotation: run a face detector on project images and add the faces as "None" boxes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project
from core.errors import MaskStudioError
from core.imaging import load_rgb_array
from core.vision.detections import FaceDetector


@dataclass
class PreannotateReport:
    """Per run: faces added, faces refused by the box rules, images that could not be read."""

    images: int = 0
    added: int = 0
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def preannotate(project: Project, images: Iterable[str], detector: FaceDetector) -> PreannotateReport:
    """Detect faces on each image and add them as "None" boxes with their scores.

    A face that overlaps an existing box by more than the rules allow (for example a face that
    is already boxed) is refused and listed, so running it twice adds nothing twice. The
    project file is saved once per image, atomically.
    """
    report = PreannotateReport()
    for name in images:
        report.images += 1
        try:
            frame = load_rgb_array(project.image_path(name))
        except MaskStudioError as exc:
            report.failed.append(str(exc))
            continue
        height, width = frame.shape[:2]
        found = [Box.from_xyxy(d, NONE, round(float(d.score), 4)) for d in detector.detect(frame)]
        with project.edit() as ann:
            added, refused = ann.try_add_boxes(name, found, image_size=(width, height))
        report.added += len(added)
        report.refused.extend(f"{name}: {exc.message}" for _, exc in refused)
    return report
