"""Scoring one model on a scene set: each labelled face is found and right, found with the wrong
class, found but uncertain, or missed (a face of a class mapped to nothing is ignored); a
detection matching no labelled face is a false detection. Faces and labelled boxes are matched
one to one at IoU >= 0.5 (core.geometry.match_boxes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.fsutil import natural_key
from core.geometry import DEFAULT_MIN_IOU, match_boxes
from core.inference.scene_sets import Scene

RIGHT, WRONG, UNCERTAIN_OUTCOME, MISSED, IGNORED = "right", "wrong", "uncertain", "missed", "ignored"


# ----- scoring ------------------------------------------------------------------------------
@dataclass
class ClassScore:
    """Outcomes of the labelled faces of one class."""

    faces: int = 0
    right: int = 0
    wrong: int = 0
    uncertain: int = 0
    missed: int = 0

    @property
    def found(self) -> int:
        return self.right + self.wrong + self.uncertain

    @property
    def found_and_right(self) -> float | None:
        return self.right / self.faces if self.faces else None

    def add(self, outcome: str) -> None:
        self.faces += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "found": self.found, "found_and_right": _r(self.found_and_right)}


@dataclass(frozen=True)
class TruthOutcome:
    label: str  # scene class
    target: str | None  # model class it maps to (None: left out)
    xyxy: tuple[float, float, float, float]
    outcome: str  # right, wrong, uncertain, missed, ignored
    predicted: str | None = None


@dataclass(frozen=True)
class PhotoScore:
    name: str
    path: Path
    truths: tuple[TruthOutcome, ...]
    faces: tuple[Any, ...]  # core.inference.predictor.Face, the model's view of the photo
    false: tuple[int, ...]  # indices into faces that match no labelled face

    @property
    def errors(self) -> int:
        return sum(t.outcome in (WRONG, UNCERTAIN_OUTCOME, MISSED) for t in self.truths) + len(self.false)


@dataclass
class SceneReport:
    """One model on one scene set."""

    per_class: dict[str, ClassScore]  # by model class
    per_scene_class: dict[str, ClassScore]
    false_detections: int
    detections: int
    truths: int  # every labelled face, mapped or not
    found_truths: int
    photos: list[PhotoScore]
    threshold: float
    detector: str

    @property
    def detector_recall(self) -> float | None:
        return self.found_truths / self.truths if self.truths else None

    @property
    def detector_precision(self) -> float | None:
        return (self.detections - self.false_detections) / self.detections if self.detections else None

    @property
    def accuracy_on_found(self) -> float | None:
        """Right / found over mapped faces (uncertain counts as not right)."""
        right = sum(c.right for c in self.per_class.values())
        found = sum(c.found for c in self.per_class.values())
        return right / found if found else None

    @property
    def accuracy_on_decided(self) -> float | None:
        """Right / (right + wrong): the classifier where it answered."""
        right = sum(c.right for c in self.per_class.values())
        decided = right + sum(c.wrong for c in self.per_class.values())
        return right / decided if decided else None

    @property
    def found_and_right(self) -> dict[str, float | None]:
        return {c: s.found_and_right for c, s in self.per_class.items()}

    def worst_photos(self, n: int = 8) -> list[PhotoScore]:
        ranked = sorted((p for p in self.photos if p.errors), key=lambda p: (-p.errors, natural_key(p.name)))
        return ranked[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "photos": len(self.photos),
            "faces": self.truths,
            "detector": self.detector,
            "threshold": _r(self.threshold),
            "found_and_right": {c: _r(v) for c, v in self.found_and_right.items()},
            "accuracy_on_found": _r(self.accuracy_on_found),
            "accuracy_on_decided": _r(self.accuracy_on_decided),
            "detector_recall": _r(self.detector_recall),
            "detector_precision": _r(self.detector_precision),
            "false_detections": self.false_detections,
            "detections": self.detections,
            "found_faces": self.found_truths,
            "per_class": {c: s.to_dict() for c, s in self.per_class.items()},
            "per_scene_class": {c: s.to_dict() for c, s in self.per_scene_class.items()},
            "worst_photos": [{"photo": p.name, "errors": p.errors} for p in self.worst_photos(10)],
        }


def _r(v: float | None, n: int = 4) -> float | None:
    return None if v is None else round(float(v), n)


def score_photo(
    scene: Scene, faces: Sequence[Any], mapping: Mapping[str, str | None], min_iou: float = DEFAULT_MIN_IOU
) -> PhotoScore:
    """Match the model's `faces` (predictor Faces: boxes with a .label) to the photo's labelled faces."""
    from core.inference.predictor import UNCERTAIN

    match = match_boxes(faces, [t.box for t in scene.faces], min_iou)
    by_truth = {t: p for p, t, _ in match.pairs}
    outcomes = []
    for ti, truth in enumerate(scene.faces):
        target = mapping.get(truth.label)
        p = by_truth.get(ti)
        predicted = faces[p].label if p is not None else None
        if target is None:
            outcome = IGNORED
        elif p is None:
            outcome = MISSED
        elif predicted == UNCERTAIN:
            outcome = UNCERTAIN_OUTCOME
        else:
            outcome = RIGHT if predicted == target else WRONG
        outcomes.append(TruthOutcome(truth.label, target, truth.xyxy, outcome, predicted))
    return PhotoScore(
        scene.name, scene.path, tuple(outcomes), tuple(faces), tuple(match.unmatched_predictions)
    )


def build_report(
    photos: Sequence[PhotoScore], model_labels: Sequence[str], threshold: float, detector: str
) -> SceneReport:
    per_class = {c: ClassScore() for c in model_labels}
    per_scene: dict[str, ClassScore] = {}
    truths = found = false = detections = 0
    for photo in photos:
        detections += len(photo.faces)
        false += len(photo.false)
        for t in photo.truths:
            truths += 1
            if t.outcome != MISSED and (t.outcome != IGNORED or t.predicted is not None):
                found += 1
            if t.outcome == IGNORED or t.target is None:
                continue
            per_class.setdefault(t.target, ClassScore()).add(t.outcome)
            per_scene.setdefault(t.label, ClassScore()).add(t.outcome)
    per_class = {c: s for c, s in per_class.items() if s.faces}
    return SceneReport(
        per_class, per_scene, false, detections, truths, found, list(photos), threshold, detector
    )
