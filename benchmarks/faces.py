"""Face-detector benchmark: recall/precision on the VOC scenes and ms per 640x480 frame.

Prints one JSON object. Usage: python -m benchmarks.faces [--data DIR] [--detectors centerface haar]
Matching: core.geometry.match_boxes, one-to-one, highest IoU first, IoU >= 0.5 (Pascal VOC).
Accuracy is measured on the scenes as they are (mostly about 400x300 px); timing on every scene
resized to 640x480 (a webcam frame), the detectors taking turns frame by frame. For detectors
that move their boxes to the annotation convention (`box_adjust`), `raw_boxes` gives the same
metrics without the move.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.geometry import DEFAULT_MIN_IOU, match_boxes, precision, recall  # noqa: E402
from core.imaging import load_rgb_array  # noqa: E402
from core.vision.detections import FaceDetector  # noqa: E402
from core.vision.detectors import DETECTORS, get_detector  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "face_mask_detection_voc"
FRAME = (640, 480)
SETTINGS = (
    "input_size",
    "score_threshold",
    "nms_threshold",
    "max_side",
    "threads",
    "scale_factor",
    "min_neighbors",
    "min_size",
)

Scene = tuple[np.ndarray, list[tuple[str, tuple[float, float, float, float]]]]


def load_voc(xml_path: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(class name, xyxy) for every object in a Pascal VOC file."""
    out = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        bb = obj.find("bndbox")
        xyxy = tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append((obj.findtext("name", ""), xyxy))
    return out


def accuracy(detector: FaceDetector, scenes: list[Scene]) -> dict[str, Any]:
    """Recall (overall, per class, for faces >= 30 px), precision and counts over the scenes."""
    matched = predictions = 0
    by_class: dict[str, list[int]] = {}
    big = [0, 0]
    for image, objects in scenes:
        result = match_boxes(detector.detect(image), [box for _, box in objects], DEFAULT_MIN_IOU)
        matched += result.matched
        predictions += result.n_predictions
        for i, (cls, box) in enumerate(objects):
            hit = int(i in result.matched_truths)
            counts = by_class.setdefault(cls, [0, 0])
            counts[0] += hit
            counts[1] += 1
            if min(box[2] - box[0], box[3] - box[1]) >= 30:
                big[0] += hit
                big[1] += 1
    truths = sum(n for _, n in by_class.values())
    with_mask = by_class.get("with_mask", [0, 0])
    return {
        "recall": _round(recall(matched, truths)),
        "recall_with_mask": _round(recall(*with_mask)),
        "precision": _round(precision(matched, predictions)),
        "recall_by_class": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_class.items())},
        "recall_faces_min_side_ge_30px": _round(recall(*big)),
        "detections": predictions,
    }


def latency(detectors: dict[str, FaceDetector], frames: list[np.ndarray], repeats: int) -> dict[str, Any]:
    """p50/p95 ms per frame for each detector, after a warm-up.

    The detectors take turns on every frame, so on a shared machine they all run under the
    same background load and their times compare fairly.
    """
    for detector in detectors.values():
        for frame in frames[:5]:
            detector.detect(frame)
    times: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(repeats):
        for frame in frames:
            for name, detector in detectors.items():
                t0 = time.perf_counter()
                detector.detect(frame)
                times[name].append((time.perf_counter() - t0) * 1000)
    return {
        name: {
            "p50": round(float(np.percentile(ts, 50)), 1),
            "p95": round(float(np.percentile(ts, 95)), 1),
            "frames": len(ts),
        }
        for name, ts in times.items()
    }


def evaluate(name: str, scenes: list[Scene]) -> dict[str, Any]:
    """Settings, accuracy, and accuracy without the box adjustment, of one detector."""
    detector = get_detector(name)
    settings = {k: getattr(detector, k) for k in SETTINGS if hasattr(detector, k)}
    adjust = getattr(detector, "box_adjust", None)
    settings["box_adjust"] = dataclasses.asdict(adjust) if adjust is not None else None
    out: dict[str, Any] = {"description": DETECTORS[name].help, "settings": settings}
    out.update(accuracy(detector, scenes))
    if adjust is not None:
        raw = accuracy(get_detector(name, box_adjust=None), scenes)
        out["raw_boxes"] = {k: raw[k] for k in ("recall", "recall_with_mask", "precision")}
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    scenes = [
        (load_rgb_array(img), load_voc(args.data / "annotations" / f"{img.stem}.xml"))
        for img in sorted((args.data / "images").glob("*.jpg"))
    ]
    frames = [cv2.resize(img, FRAME, interpolation=cv2.INTER_AREA) for img, _ in scenes]
    load_before = os.getloadavg()
    detectors = {name: evaluate(name, scenes) for name in args.detectors}
    times = latency({name: get_detector(name) for name in args.detectors}, frames, args.repeats)
    for name, ms in times.items():
        detectors[name]["ms_per_640x480_frame"] = ms
    result = {
        "dataset": args.data.name,
        "scenes": len(scenes),
        "faces": sum(len(objects) for _, objects in scenes),
        "iou_threshold": DEFAULT_MIN_IOU,
        "matching": "one-to-one, highest IoU first (core.geometry.match_boxes)",
        "opencv": cv2.__version__,
        "cv2_threads": cv2.getNumThreads(),
        "cpus": os.cpu_count(),
        "load_average_1min": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
        "detectors": detectors,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
