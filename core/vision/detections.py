"""What every face detector shares: the `Detection` it returns, the `FaceDetector` interface
(`detect(rgb_frame) -> list[Detection]`), frame checking, and the box post-processing
(adjusting a detector's boxes to the annotations' convention, clipping to the image)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.errors import DetectorError
from core.geometry import XYXY


@dataclass(frozen=True)
class Detection(XYXY):
    """One face: a box in original-image pixels (x1, y1, x2, y2) and a score in 0..1."""

    score: float


class FaceDetector(Protocol):
    """Finds faces in an HxWx3 uint8 RGB frame."""

    name: str

    def detect(self, image: np.ndarray) -> list[Detection]: ...


def as_rgb_frame(image: np.ndarray) -> np.ndarray:
    """`image` as a contiguous HxWx3 uint8 array (grey and RGBA are converted); DetectorError if not."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise DetectorError(f"a frame must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DetectorError(f"a frame must be HxWx3 RGB, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


@dataclass(frozen=True)
class BoxAdjust:
    """Moves and rescales face boxes from a detector's convention to the annotations' one.

    Shifts are fractions of the box's own width/height (positive: right/down); scales multiply
    the width/height around the moved centre. CenterFace and YuNet learned WIDER FACE boxes
    (hairline to chin); the face-mask annotations this app works with sit lower and squarer,
    around the mask, so the raw boxes miss them at IoU 0.5 far more often than the faces do.
    """

    shift_x: float = 0.0
    shift_y: float = 0.0
    scale_w: float = 1.0
    scale_h: float = 1.0

    def __post_init__(self) -> None:
        values = (self.shift_x, self.shift_y, self.scale_w, self.scale_h)
        if not all(np.isfinite(v) for v in values) or self.scale_w <= 0 or self.scale_h <= 0:
            raise DetectorError(f"a box adjustment needs finite shifts and positive scales, got {self!r}")

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        """The (N, 4) xyxy `boxes` moved and rescaled (a new array)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        cx = (boxes[:, 0] + boxes[:, 2]) / 2 + self.shift_x * w
        cy = (boxes[:, 1] + boxes[:, 3]) / 2 + self.shift_y * h
        half_w, half_h = self.scale_w * w / 2, self.scale_h * h / 2
        return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)


def finish_detections(
    boxes: np.ndarray, scores: np.ndarray, width: int, height: int, adjust: BoxAdjust | None
) -> list[Detection]:
    """Detections from original-pixel boxes: adjusted, clipped to the image, best score first."""
    if adjust is not None:
        boxes = adjust.apply(boxes)
    return clip_detections(boxes, scores, width, height)


def clip_detections(boxes: np.ndarray, scores: np.ndarray, width: int, height: int) -> list[Detection]:
    """Detections from (N, 4) boxes clipped to the image, dropping boxes left empty."""
    out = []
    for (x1, y1, x2, y2), score in zip(boxes.tolist(), scores.tolist(), strict=True):
        d = Detection(x1, y1, x2, y2, float(score)).clipped(float(width), float(height))
        if d.width >= 1.0 and d.height >= 1.0:
            out.append(d)
    out.sort(key=lambda d: d.score, reverse=True)
    return out
