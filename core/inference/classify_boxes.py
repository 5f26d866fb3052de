"""The annotator's "classify unlabelled boxes": fill "None" boxes with the model's category.

The model's labels map to the project's categories by name. A box whose prediction is under
the confidence threshold, or whose predicted label is not a category of the project, stays
"None". Each image is saved at once (atomic), so an interruption keeps what was done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from core.annotation.annotations import NONE
from core.annotation.projects import Project
from core.errors import ClassifierError, MaskStudioError
from core.imaging import load_rgb_array
from core.inference.predictor import UNCERTAIN, Predictor, check_threshold, decide
from core.vision.classifier import Classifier
from core.vision.detections import Detection


@dataclass(frozen=True)
class LabelMapping:
    """How a model's labels meet a project's categories (by exact name)."""

    matched: tuple[str, ...]
    missing: tuple[str, ...]  # model labels that are not categories of the project

    @property
    def message(self) -> str | None:
        """A clear sentence when some or all labels do not match, else None."""
        if not self.missing:
            return None
        missing = ", ".join(repr(m) for m in self.missing)
        if not self.matched:
            return (
                f"None of the model's labels ({missing}) is a category of this project: add or rename "
                "categories to match them (names must be equal), or choose another model."
            )
        return (
            f"The model's labels {missing} are not categories of this project: boxes predicted as "
            'those stay "None". Add or rename categories to use them.'
        )


def map_labels(model_labels: Iterable[str], categories: Iterable[str]) -> LabelMapping:
    """Which model labels are project categories."""
    cats = set(categories) - {NONE}
    labels = list(model_labels)
    return LabelMapping(
        tuple(lb for lb in labels if lb in cats), tuple(lb for lb in labels if lb not in cats)
    )


@dataclass
class ClassifyReport:
    """What one "classify unlabelled boxes" pass did."""

    images: int = 0
    candidates: int = 0  # "None" boxes looked at
    labelled: int = 0
    uncertain: int = 0  # under the threshold: left "None"
    unmapped: int = 0  # predicted label is not a project category: left "None"
    failed: list[str] = field(default_factory=list)


class _GivenBoxes:
    """A detector that finds nothing: the boxes are given, only classified."""

    name = "given boxes"

    def detect(self, image: np.ndarray) -> list[Detection]:
        return []


def classify_unlabelled(
    project: Project, images: Iterable[str], model: Classifier | None, threshold: float
) -> ClassifyReport:
    """Classify the "None" boxes of `images`; each image's crops go to the model in one batch.

    Crops are made as Predict makes them (core.inference.predictor.Predictor.classify_boxes).
    """
    if model is None:
        raise ClassifierError("classifying boxes needs a model: make a finished run the active model")
    threshold = check_threshold(threshold)
    predictor = Predictor(_GivenBoxes(), model, threshold)
    mapping = map_labels(predictor.labels, project.load().categories)
    if not mapping.matched:
        raise ClassifierError(mapping.message or "no label matches")
    report = ClassifyReport()
    for name in images:
        report.images += 1
        boxes = project.load().boxes(name)
        todo = [i for i, b in enumerate(boxes) if b.label == NONE]
        if not todo:
            continue
        try:
            frame = load_rgb_array(project.image_path(name))
        except MaskStudioError as exc:
            report.failed.append(str(exc))
            continue
        faces = predictor.classify_boxes(frame, [boxes[i] for i in todo])
        report.candidates += len(todo)
        with project.edit() as ann:
            current = ann.boxes(name)
            for index, face in zip(todo, faces, strict=True):
                if index >= len(current) or current[index].xyxy != boxes[index].xyxy:
                    continue  # the image changed meanwhile: leave that box alone
                label = decide(face.top_label, face.confidence, threshold)
                if label == UNCERTAIN:
                    report.uncertain += 1
                elif label not in ann.categories:
                    report.unmapped += 1
                else:
                    ann.set_label(name, index, label, round(face.confidence, 4))
                    report.labelled += 1
    return report
