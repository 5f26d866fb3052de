"""The one registry of face detectors, `{name: DetectorSpec(factory, help)}`, and `get_detector`,
which builds and shares them by name.

    centerface-adaptive  CenterFace at the scale the frame needs (ScaleAdaptiveDetector);
                         Predict's and the scene evaluation's default
    centerface-thorough  CenterFace on the photo and its mirror image, merged by NMS
                         (core.vision.thorough.ThoroughDetector); for photos, about 2x the time
    centerface           CenterFace at 800x608; the annotator's and autocrop's default
    centerface-fast      CenterFace at 320x256, for video
    centerface-live      CenterFace at 256x192, for a webcam's near faces
    yunet                YuNet (libfacedetection)
    haar                 OpenCV's Haar cascade

A new detector is a class with `name` and `detect(rgb_frame) -> list[Detection]`
(core.vision.detections) plus one DETECTORS entry.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from core.errors import DetectorError
from core.vision.detections import Detection, FaceDetector, as_rgb_frame
from core.vision.face_models import (
    CENTERFACE_FAST,
    CENTERFACE_LIVE,
    CenterFaceDetector,
    HaarDetector,
    YuNetDetector,
)
from core.vision.thorough import THOROUGH, ThoroughDetector

ADAPTIVE = "centerface-adaptive"
#: The annotator's and autocrop's detector.
DEFAULT_DETECTOR = "centerface"
#: The detector Predict and the scene evaluation start with.
DEFAULT_PREDICT_DETECTOR = ADAPTIVE


@runtime_checkable
class _Canvas(Protocol):
    """A detector that letterboxes frames onto an `input_size` (width, height) canvas."""

    input_size: tuple[int, int]


class ScaleAdaptiveDetector:
    """CenterFace at the input scale the frame needs (scale proposal, then detection).

    A coarse pass at `coarse` (the 320x256 "centerface-fast" preset) is trusted when every face
    it finds is at least `min_face_px` canvas pixels (the size from which its recall matches the
    800x608 pass; benchmarks/predict.py measures it per face size). When it finds no face, or a
    smaller one (a scene of small faces, where more may hide), the frame is detected again by
    `fine` and only that result is kept: a frame of a few near faces costs one small pass, a
    crowd photo both. Idea as in Hao et al., "Scale-Aware Face Detection" (CVPR 2017).
    """

    name = ADAPTIVE
    #: The smallest face (short side, coarse-canvas pixels) that ends the search after the coarse pass.
    MIN_FACE_PX = 24.0

    def __init__(
        self,
        coarse: FaceDetector | None = None,
        fine: FaceDetector | None = None,
        min_face_px: float = MIN_FACE_PX,
    ) -> None:
        self.coarse = coarse if coarse is not None else get_detector("centerface-fast")
        self.fine = fine if fine is not None else get_detector("centerface")
        if not isinstance(self.coarse, _Canvas):
            raise DetectorError("the coarse detector of the adaptive detector needs an input_size")
        self._coarse_canvas: _Canvas = self.coarse
        if not min_face_px > 0:
            raise DetectorError(f"min_face_px must be positive, got {min_face_px!r}")
        self.min_face_px = float(min_face_px)
        self._lock = threading.Lock()
        self._passes = {"coarse_only": 0, "fine": 0}

    def coarse_scale(self, width: int, height: int) -> float:
        """How much the coarse pass scales a `width` x `height` frame (as CenterFace letterboxes)."""
        in_w, in_h = self._coarse_canvas.input_size
        if width < height:
            in_w, in_h = in_h, in_w
        return min(in_w / width, in_h / height)

    def needs_fine(self, width: int, height: int, faces: Sequence[Detection]) -> bool:
        """True when the coarse pass found nothing or found a face under min_face_px."""
        if not faces:
            return True
        scale = self.coarse_scale(width, height)
        smallest = min(min(d.width, d.height) for d in faces)
        return smallest * scale < self.min_face_px

    def detect(self, image: Any) -> list[Detection]:
        """Faces in an RGB frame, best score first."""
        frame = as_rgb_frame(image)
        faces = self.coarse.detect(frame)
        fine = self.needs_fine(frame.shape[1], frame.shape[0], faces)
        with self._lock:
            self._passes["fine" if fine else "coarse_only"] += 1
        return self.fine.detect(frame) if fine else faces

    @property
    def passes(self) -> dict[str, int]:
        """How many frames ended after the coarse pass and how many needed the fine one."""
        with self._lock:
            return dict(self._passes)


def thorough_detector(score_threshold: float = 0.4, **options: Any) -> ThoroughDetector:
    """The thorough detector over CenterFace at 800x608 with `score_threshold`; `options` go to
    ThoroughDetector (flip, zoom, merge_iou, tile_overlap). Its defaults (flip only, score 0.4,
    merge IoU 0.3) are what every fold of the 5-fold cross-validation in benchmarks/faces.py
    --photos chose on the VOC scenes (docs/annotate.md, "Thorough detection")."""
    return ThoroughDetector(get_detector("centerface", score_threshold=score_threshold), **options)


@dataclass(frozen=True)
class DetectorSpec:
    """How to build one registered detector (`factory(**options)`) and a line describing it."""

    factory: Callable[..., FaceDetector]
    help: str


#: Every detector the app offers, in menu order.
DETECTORS: MappingProxyType[str, DetectorSpec] = MappingProxyType(
    {
        ADAPTIVE: DetectorSpec(
            ScaleAdaptiveDetector,
            "CenterFace at the scale the frame needs: 320 px pass, 800 px pass only for small "
            "or no faces (the default)",
        ),
        THOROUGH: DetectorSpec(
            thorough_detector,
            "CenterFace on the photo and on its mirror image, merged: finds more small faces, "
            "about 2x the time of the default; for photos",
        ),
        "centerface": DetectorSpec(
            CenterFaceDetector, "CenterFace (ONNX, OpenCV DNN): finds masked and small faces; the default"
        ),
        "centerface-fast": DetectorSpec(
            partial(CenterFaceDetector, name="centerface-fast", **CENTERFACE_FAST),
            "CenterFace at 320x256 for live video: about 5x faster, misses small faces",
        ),
        "centerface-live": DetectorSpec(
            partial(CenterFaceDetector, name="centerface-live", **CENTERFACE_LIVE),
            "CenterFace at 256x192 for a webcam: fastest, for near faces only",
        ),
        "yunet": DetectorSpec(
            YuNetDetector, "YuNet (libfacedetection): fast, but misses more masked and small faces"
        ),
        "haar": DetectorSpec(
            HaarDetector, "OpenCV Haar cascade: always available, but misses most masked faces"
        ),
    }
)
_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], FaceDetector] = {}
_CACHE_LOCK = threading.RLock()  # the adaptive detector gets its parts while being built


def get_detector(name: str = DEFAULT_DETECTOR, **kwargs: Any) -> FaceDetector:
    """The detector called `name` built with `kwargs`, one shared instance per (name, kwargs);
    DetectorError for an unknown name or bad options."""
    if name not in DETECTORS:
        raise DetectorError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
    key = (name, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items())))
    with _CACHE_LOCK:
        if key not in _CACHE:
            try:
                _CACHE[key] = DETECTORS[name].factory(**kwargs)
            except TypeError as exc:
                raise DetectorError(f"bad options for detector {name!r}: {exc}") from exc
        return _CACHE[key]


def detect_faces_file(path: str | os.PathLike[str], detector: FaceDetector | None = None) -> list[Detection]:
    """Faces in the image file at `path` (upright, as load_rgb_array gives it)."""
    from core.imaging import load_rgb_array

    return (detector or get_detector()).detect(load_rgb_array(path))
