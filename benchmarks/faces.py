"""Face-detector benchmark: recall/precision on the VOC scenes and ms per 640x480 frame.

Prints one JSON object. Usage: python -m benchmarks.faces [--data DIR] [--detectors centerface haar]
Matching: detections best score first, each to the unmatched annotated face with the highest
IoU >= 0.5 (the Pascal VOC rule). Timing: every scene resized to 640x480, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.faces import DETECTORS, Detection, get_detector  # noqa: E402
from core.imaging import load_rgb_array  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "face_mask_detection_voc"
IOU = 0.5


def load_voc(xml_path: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(class name, xyxy) for every object in a Pascal VOC file."""
    out = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        bb = obj.find("bndbox")
        xyxy = tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append((obj.findtext("name", ""), xyxy))
    return out


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two xyxy boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(dets: list[Detection], truth: list[tuple[float, ...]]) -> list[bool]:
    """For each annotated face, whether a detection matched it."""
    hit = [False] * len(truth)
    for det in sorted(dets, key=lambda d: d.score, reverse=True):
        best, best_iou = -1, IOU
        for i, box in enumerate(truth):
            v = iou(det.xyxy, box)
            if not hit[i] and v >= best_iou:
                best, best_iou = i, v
        if best >= 0:
            hit[best] = True
    return hit


def evaluate(name: str, scenes: list[tuple[np.ndarray, list]], repeats: int) -> dict:
    """Recall, precision and per-frame latency of one detector."""
    detector = get_detector(name)
    n_det = n_tp = 0
    by_class: dict[str, list[int]] = {}
    big = [0, 0]
    for image, objects in scenes:
        dets = detector.detect(image)
        hits = match(dets, [box for _, box in objects])
        n_det += len(dets)
        n_tp += sum(hits)
        for (cls, box), hit in zip(objects, hits, strict=True):
            by_class.setdefault(cls, [0, 0])
            by_class[cls][0] += hit
            by_class[cls][1] += 1
            if min(box[2] - box[0], box[3] - box[1]) >= 30:
                big[0] += hit
                big[1] += 1
    n_gt = sum(v[1] for v in by_class.values())
    frames = [cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA) for img, _ in scenes]
    for frame in frames[:5]:
        detector.detect(frame)
    times = []
    for _ in range(repeats):
        for frame in frames:
            t0 = time.perf_counter()
            detector.detect(frame)
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "description": DETECTORS[name],
        "faces": n_gt,
        "recall": round(n_tp / n_gt, 4),
        "recall_with_mask": round(by_class["with_mask"][0] / by_class["with_mask"][1], 4),
        "recall_by_class": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_class.items())},
        "recall_faces_min_side_ge_30px": round(big[0] / big[1], 4) if big[1] else None,
        "detections": n_det,
        "precision": round(n_tp / n_det, 4) if n_det else None,
        "ms_per_640x480_frame": {
            "p50": round(float(np.percentile(times, 50)), 1),
            "p95": round(float(np.percentile(times, 95)), 1),
            "frames": len(times),
        },
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    scenes = [
        (load_rgb_array(img), load_voc(args.data / "annotations" / f"{img.stem}.xml"))
        for img in sorted((args.data / "images").glob("*.jpg"))
    ]
    result = {
        "dataset": str(args.data.name),
        "scenes": len(scenes),
        "iou_threshold": IOU,
        "opencv": cv2.__version__,
        "cv2_threads": cv2.getNumThreads(),
        "detectors": {name: evaluate(name, scenes, args.repeats) for name in args.detectors},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
