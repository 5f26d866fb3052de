"""The Predict pipeline, shared by Predict, Live and the annotator: detect faces, crop each one
exactly as the dataset builder does, classify all crops of a frame in one batch.

    frame -> detector.detect -> square_crop(box, CROP_SIZE) -> resize to the model's
          input (the training pipeline's resize) -> Classifier.predict (one batch)
          -> label, or UNCERTAIN when the top probability is under the threshold

A Predictor holds no mutable state of its own (the detectors and the classifier lock around
their native calls), so one instance can serve a video callback and a page at the same time.
Without a classifier it only finds faces, labelled FACE.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image

from core.geometry import XYXY, BoxLike
from core.imaging import CROP_SIZE, resize_square, square_crop
from core.inference.tracking import LabelMemory
from core.runs.thresholds import TIE_EPSILON
from core.vision.classifier import Classifier
from core.vision.detections import Detection, FaceDetector, as_rgb_frame

UNCERTAIN = "uncertain"
FACE = "face"
#: The threshold used when none is suggested from a run's test split (thresholds.suggest_threshold).
DEFAULT_THRESHOLD = 0.6


# ----- faces ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Face(XYXY):
    """One face of a frame: box (original pixels), label, confidence and every class probability.

    `label` is the top class, or UNCERTAIN when `confidence` (the top probability) is under the
    threshold, or FACE when no classifier ran (then `confidence` is the detector score).
    """

    label: str
    confidence: float
    probs: Mapping[str, float] = field(default_factory=dict, hash=False)
    detector_score: float = 0.0

    @property
    def top_label(self) -> str:
        """The most probable class, even when the face is labelled uncertain."""
        return max(self.probs, key=self.probs.__getitem__) if self.probs else self.label

    def with_threshold(self, threshold: float) -> Face:
        """This face labelled again under another threshold (no model call)."""
        if not self.probs:
            return self
        return replace(self, label=decide(self.top_label, self.confidence, threshold))


@dataclass(frozen=True)
class FrameResult:
    """The faces of one frame (best detector score first) and where the time went."""

    faces: tuple[Face, ...]
    width: int
    height: int
    detect_ms: float
    classify_ms: float
    #: faces the classifier ran on for this frame (fewer than len(faces) when a LabelMemory
    #: reused the probabilities of followed faces; 0 without a classifier)
    classified: int = 0

    @property
    def total_ms(self) -> float:
        return self.detect_ms + self.classify_ms

    def with_threshold(self, threshold: float) -> FrameResult:
        return replace(self, faces=tuple(f.with_threshold(threshold) for f in self.faces))

    def scaled_to(self, width: int, height: int) -> FrameResult:
        """The same faces on the frame resized to `width` x `height` (boxes scaled, clipped)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / max(1, self.width), height / max(1, self.height)
        faces = tuple(f.scaled(sx, sy).clipped(width, height) for f in self.faces)
        return replace(self, faces=faces, width=int(width), height=int(height))

    def counts(self) -> dict[str, int]:
        """{label: faces}, in first-seen order."""
        out: dict[str, int] = {}
        for f in self.faces:
            out[f.label] = out.get(f.label, 0) + 1
        return out


def check_threshold(threshold: float) -> float:
    """`threshold` as a float in [0, 1]; ValueError otherwise."""
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
    return t


def decide(top_label: str, confidence: float, threshold: float) -> str:
    """`top_label`, or UNCERTAIN when `confidence` is under `threshold` (compared at float32
    precision: a model's 0.7 is 0.69999999 in float32 and must not count as under 0.7)."""
    return top_label if confidence >= threshold - TIE_EPSILON else UNCERTAIN


def crop_faces(frame: np.ndarray, boxes: Iterable[BoxLike], size: int) -> np.ndarray:
    """Model inputs (N, size, size, 3) uint8 for `boxes`.

    Each crop is the dataset builder's (core.imaging.square_crop at CROP_SIZE px), then
    resized as training resizes dataset files (core.imaging.resize_square), so a face reaches the
    model exactly as a dataset crop of it would.
    """
    crops = []
    for box in boxes:
        crop = square_crop(frame, box, CROP_SIZE)
        if size != CROP_SIZE:
            crop = resize_square(Image.fromarray(crop), size)
        crops.append(crop)
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


# ----- the predictor -------------------------------------------------------------------------
class Predictor:
    """detector + optional classifier + threshold: a frame in, its faces out."""

    def __init__(
        self, detector: FaceDetector, model: Classifier | None = None, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.detector = detector
        self.model = model
        self.threshold = check_threshold(threshold)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.model.labels if self.model is not None else (FACE,)

    def predict(self, frame: np.ndarray) -> list[Face]:
        """The faces of an HxWx3 uint8 RGB frame, best detector score first."""
        return list(self.run(frame).faces)

    def run(self, frame: np.ndarray, memory: LabelMemory | None = None) -> FrameResult:
        """Like predict, with the frame size and the detect/classify times.

        With a `memory` (video), faces followed from the previous frames may keep the
        probabilities they were classified with (core.inference.tracking); the boxes are always new.
        """
        rgb = as_rgb_frame(frame)
        start = time.perf_counter()
        detections = self.detector.detect(rgb)
        detected = time.perf_counter()
        faces, classified = self._classify(rgb, detections, memory)
        done = time.perf_counter()
        height, width = rgb.shape[:2]
        return FrameResult(
            tuple(faces),
            width,
            height,
            (detected - start) * 1000.0,
            (done - detected) * 1000.0,
            classified,
        )

    def classify_boxes(self, frame: np.ndarray, boxes: Sequence[BoxLike]) -> list[Face]:
        """Classify given boxes without detecting: the annotator's "classify unlabelled boxes".
        Detector scores are 0."""
        rgb = as_rgb_frame(frame)
        dets = [Detection.from_box(b, score=0.0) for b in boxes]
        return self._classify(rgb, dets)[0]

    def _classify(
        self, rgb: np.ndarray, detections: Sequence[Detection], memory: LabelMemory | None = None
    ) -> tuple[list[Face], int]:
        """(faces, how many crops the classifier ran on)."""
        model = self.model
        if model is None:
            faces = [
                Face.from_box(d, label=FACE, confidence=float(d.score), detector_score=float(d.score))
                for d in detections
            ]
            return faces, 0
        probs: np.ndarray | list[np.ndarray]
        if memory is None:
            probs = model.predict(crop_faces(rgb, detections, model.image_size))
            classified = len(detections)
        else:
            probs, classified = memory.for_model(model).probabilities(
                [d.xyxy for d in detections],
                lambda idx: model.predict(crop_faces(rgb, [detections[i] for i in idx], model.image_size)),
            )
        faces = []
        for det, row in zip(detections, probs, strict=True):
            top = int(np.argmax(row))
            confidence = float(row[top])
            faces.append(
                Face.from_box(
                    det,
                    label=decide(model.labels[top], confidence, self.threshold),
                    confidence=confidence,
                    probs=dict(zip(model.labels, (float(p) for p in row), strict=True)),
                    detector_score=float(det.score),
                )
            )
        return faces, classified


def result_rows(results: Iterable[tuple[str, FrameResult]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """One flat row per face (image, box, label, confidence, detector score, p_<class>), and one
    row with label "(no face)" for an image without faces: the results table / CSV."""
    rows: list[dict[str, Any]] = []
    for image, result in results:
        if not result.faces:
            rows.append({"image": image, "face": 0, "label": "(no face)"})
            continue
        for i, f in enumerate(result.faces, start=1):
            row: dict[str, Any] = {
                "image": image,
                "face": i,
                "x1": round(f.x1, 1),
                "y1": round(f.y1, 1),
                "x2": round(f.x2, 1),
                "y2": round(f.y2, 1),
                "label": f.label,
                "confidence": round(f.confidence, 4),
                "detector_score": round(f.detector_score, 4),
            }
            row.update({f"p_{c}": round(f.probs.get(c, float("nan")), 4) for c in labels if f.probs})
            rows.append(row)
    return rows


__all__ = [
    "DEFAULT_THRESHOLD",
    "FACE",
    "UNCERTAIN",
    "Face",
    "FrameResult",
    "Predictor",
    "check_threshold",
    "crop_faces",
    "decide",
    "result_rows",
]
