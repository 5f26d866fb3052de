"""Predict benchmark: detect + classify on real scenes, the fast path, the hard cases.

    python -m benchmarks.predict [--quick] [--workspace DIR] [--detectors ...]

Prints one JSON object. Steps:
1. Trains a MobileNetV2 run (default settings, core.training.train) on face_mask_binary_real, linked
   into a temporary workspace and split as benchmarks/train.py does (--workspace reuses a
   workspace and its finished run, so a second call skips training).
2. Backends: each backend of core.vision.classifier against the `model.predict` reference on the whole
   test split (max probability difference, label agreement) and ms per call for 1 and 3 faces.
3. Threshold: accuracy vs coverage on the test split and the suggested default.
4. Scenes: face_mask_detection_voc (100 scenes, 606 faces). Per detector: face recall and
   precision at IoU >= 0.5 (core.geometry), overall and per class; classification accuracy on
   the matched faces, with `mask_weared_incorrect` counted as with_mask (MAPPING) and also
   reported on its own; the same on the true boxes (classifier alone).
5. Speed: detect + classify 640x480 frames, p50/p95 per detector, fast path and model.predict
   path taking turns frame by frame (same load), and their ratio.
6. Hard cases as numbers: a skin patch over the mouth (hand proxy), dark masks, narrow (side)
   faces, mirrored scenes.
TensorFlow and LiteRT get 2 threads. --quick: fewer scenes, frames and repeats, no int8 export.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.classifier_checks import backend_report, hard_cases
from benchmarks.common import seed_env
from benchmarks.frames import (
    FRAME_H,
    FRAME_W,
    VOC,
    crop_frames,
    gif_frames,
    load_scenes,
    rounded,
    speed_report,
)

DETECTORS = ("centerface-adaptive", "centerface", "centerface-fast", "yunet", "haar")
#: VOC class -> the binary model's class. A mask worn below the nose is still a mask on the face;
#: the binary data set has no third class. Reported on its own as well.
MAPPING = {"with_mask": "with_mask", "without_mask": "without_mask", "mask_weared_incorrect": "with_mask"}
TARGETS = {"recall_with_mask": 0.85, "p50_ms": 40.0, "speedup_vs_haar_predict": 4.0}


# ----- set-up ---------------------------------------------------------------------------------
def setup_env(tmp: Path, workspace: Path | None) -> Path:
    """Seed KERAS_HOME and the workspace before keras is imported; 2 threads for TensorFlow."""
    root = seed_env(tmp, workspace)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return root


# ----- measurements ---------------------------------------------------------------------------
def scene_report(predictor: Any, scenes: list, threshold: float, flip: bool = False) -> dict[str, Any]:
    """Detection recall/precision and classification accuracy of one predictor on the scenes."""
    from core.geometry import match_boxes, precision, recall

    hits: dict[str, list[int]] = {}
    matched = predictions = 0
    cls_right: dict[str, list[int]] = {}
    incorrect_pred: dict[str, int] = {}
    covered = covered_right = 0
    narrow = [0, 0, 0, 0]  # found, total, right, classified
    small = [0, 0]
    for _, image, objects in scenes:
        truths = [b for _, b in objects]
        if flip:
            w = image.shape[1]
            image = np.ascontiguousarray(image[:, ::-1])
            truths = [(w - b[2], b[1], w - b[0], b[3]) for b in truths]
        faces = predictor.predict(image)
        result = match_boxes(faces, truths)
        matched += result.matched
        predictions += result.n_predictions
        pairs = {t: p for p, t, _ in result.pairs}
        for i, (cls, box) in enumerate(objects):
            found = i in pairs
            h = hits.setdefault(cls, [0, 0])
            h[0] += found
            h[1] += 1
            bw, bh = box[2] - box[0], box[3] - box[1]
            is_narrow = bw / max(bh, 1e-6) < 0.75
            if is_narrow:
                narrow[0] += found
                narrow[1] += 1
            if min(bw, bh) < 20:
                small[0] += found
                small[1] += 1
            if not found or predictor.model is None:
                continue
            face = faces[pairs[i]]
            right = face.top_label == MAPPING[cls]
            c = cls_right.setdefault(cls, [0, 0])
            c[0] += right
            c[1] += 1
            if cls == "mask_weared_incorrect":
                incorrect_pred[face.top_label] = incorrect_pred.get(face.top_label, 0) + 1
            if is_narrow:
                narrow[2] += right
                narrow[3] += 1
            if face.confidence >= threshold:
                covered += 1
                covered_right += right
    truths_n = sum(v[1] for v in hits.values())
    out: dict[str, Any] = {
        "recall": rounded(recall(sum(v[0] for v in hits.values()), truths_n)),
        "precision": rounded(precision(matched, predictions)),
        "recall_with_mask": rounded(recall(*hits.get("with_mask", [0, 0]))),
        "recall_masked_incl_incorrect": rounded(
            recall(
                hits.get("with_mask", [0, 0])[0] + hits.get("mask_weared_incorrect", [0, 0])[0],
                hits.get("with_mask", [0, 0])[1] + hits.get("mask_weared_incorrect", [0, 0])[1],
            )
        ),
        "recall_by_class": {k: f"{v[0]}/{v[1]}" for k, v in sorted(hits.items())},
        "recall_faces_under_20px": rounded(recall(*small)),
        "detections": predictions,
    }
    if predictor.model is not None:
        n = sum(v[1] for v in cls_right.values())
        out["classification_on_matched"] = {
            "faces": n,
            "accuracy": rounded(sum(v[0] for v in cls_right.values()) / n if n else None),
            "accuracy_by_class": {k: f"{v[0]}/{v[1]}" for k, v in sorted(cls_right.items())},
            "mask_weared_incorrect_predicted_as": incorrect_pred,
            "at_suggested_threshold": {
                "threshold": threshold,
                "coverage": rounded(covered / n if n else None),
                "accuracy_on_labelled": rounded(covered_right / covered if covered else None),
            },
        }
        out["narrow_faces_w_over_h_under_0_75"] = {
            "faces": narrow[1],
            "recall": rounded(recall(narrow[0], narrow[1])),
            "classification_accuracy": rounded(narrow[2] / narrow[3] if narrow[3] else None),
        }
    return out


def true_box_report(predictor: Any, scenes: list, threshold: float) -> dict[str, Any]:
    """The classifier alone on the annotated boxes (no detector): accuracy overall, per class, by
    face size, and the accuracy/coverage trade of the threshold on these scene faces."""
    from core.runs.thresholds import threshold_curve

    labels = list(predictor.labels)
    right: dict[str, list[int]] = {}
    rows = []  # (short side, right, top probability, truth index)
    for _, image, objects in scenes:
        faces = predictor.classify_boxes(image, [b for _, b in objects])
        for (cls, box), face in zip(objects, faces, strict=True):
            ok = face.top_label == MAPPING[cls]
            r = right.setdefault(cls, [0, 0])
            r[0] += ok
            r[1] += 1
            rows.append((min(box[2] - box[0], box[3] - box[1]), ok, face.probs, labels.index(MAPPING[cls])))
    n = sum(v[1] for v in right.values())
    by_size = {}
    for lo, hi in ((0, 15), (15, 20), (20, 30), (30, 45), (45, 10_000)):
        sel = [r for r in rows if lo <= r[0] < hi]
        if sel:
            key = f"{lo}-{hi}px" if hi < 10_000 else f">={lo}px"
            by_size[key] = {"faces": len(sel), "accuracy": rounded(np.mean([r[1] for r in sel]), 3)}
    probs = np.array([[r[2][c] for c in labels] for r in rows])
    points = threshold_curve(probs, np.array([r[3] for r in rows]), [0.0, threshold, 0.9, 0.95, 0.99])
    return {
        "faces": n,
        "accuracy": rounded(sum(v[0] for v in right.values()) / n),
        "accuracy_by_class": {k: f"{v[0]}/{v[1]}" for k, v in sorted(right.items())},
        "accuracy_by_face_short_side": by_size,
        "threshold_on_scene_faces": {
            f"{p.threshold:.2f}": {
                "coverage": rounded(p.coverage, 3),
                "accuracy_on_labelled": rounded(p.accuracy, 3),
            }
            for p in points
        },
    }


def scale_evidence(scenes: list) -> dict[str, Any]:
    """Recall of the coarse (320x256) and fine (800x608) CenterFace passes by face size on the
    coarse canvas: where the coarse pass stops losing faces sets MIN_FACE_PX."""
    from core.geometry import match_boxes
    from core.vision.detectors import ScaleAdaptiveDetector, get_detector

    adaptive = ScaleAdaptiveDetector()
    edges = [0, 8, 12, 16, 20, 24, 32, 48, 10_000]
    rows = []
    coarse, fine = get_detector("centerface-fast"), get_detector("centerface")
    for _, image, objects in scenes:
        scale = adaptive.coarse_scale(image.shape[1], image.shape[0])
        truths = [b for _, b in objects]
        rc = match_boxes(coarse.detect(image), truths).matched_truths
        rf = match_boxes(fine.detect(image), truths).matched_truths
        for i, b in enumerate(truths):
            rows.append((min(b[2] - b[0], b[3] - b[1]) * scale, i in rc, i in rf))
    arr = np.array(rows, dtype=float)
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (arr[:, 0] >= lo) & (arr[:, 0] < hi)
        if m.any():
            key = f"{lo}-{hi}px" if hi < 10_000 else f">={lo}px"
            out[key] = {
                "faces": int(m.sum()),
                "coarse": rounded(arr[m, 1].mean(), 3),
                "fine": rounded(arr[m, 2].mean(), 3),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="development mode: less data, fewer repeats")
    parser.add_argument("--workspace", type=Path, help="reuse this workspace (and its finished run)")
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS))
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mask-studio-predict-bench-"))
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": [round(v, 2) for v in os.getloadavg()],
            "threads": {"tensorflow_intra_op": 2, "litert": 2},
        },
        "quick": args.quick,
    }
    t_all = time.perf_counter()
    try:
        root = setup_env(tmp, args.workspace)
        import cv2

        from benchmarks.common import default_runs
        from core.data.arrays import load_arrays
        from core.data.manifest import find_manifest
        from core.inference.predictor import Predictor
        from core.runs.store import load_run
        from core.runs.thresholds import run_threshold_report
        from core.vision.classifier import PROB_TOLERANCE
        from core.vision.detectors import get_detector

        result["machine"]["opencv_threads"] = cv2.getNumThreads()
        run_log: dict[str, Any] = {}
        run_id = default_runs(root, ("mobilenet_v2",), run_log)["mobilenet_v2"]
        run_log["trained_now"] = bool(run_log)
        record = load_run(run_id, root)
        metrics = record.metrics or {}
        manifest, folder = find_manifest(record.config["dataset_version"], root)
        test = load_arrays(manifest, folder, int(record.config["image_size"]), root)["test"]
        labels = list(manifest.classes)
        result["run"] = {
            "run_id": run_id,
            **run_log,
            "model": record.config.get("model"),
            "image_size": record.config.get("image_size"),
            "epochs": record.config.get("epochs"),
            "dataset": f"{manifest.dataset} {manifest.version}",
            "test_images": len(test),
            "test_accuracy": rounded(metrics.get("accuracy")),
            "train_seconds": metrics.get("train_seconds"),
        }
        backends, classifiers = backend_report(run_id, root, test, args.quick)
        backends["prob_tolerance"] = PROB_TOLERANCE
        result["backends"] = backends
        fast = classifiers[backends["auto"]["chosen"]]
        report = run_threshold_report(fast, run_id, root, use_cache=False)
        sug = report.suggestion
        threshold = sug.threshold
        result["threshold"] = {
            "source": report.source,
            "suggested": threshold,
            "rule": sug.rule,
            "coverage": rounded(sug.coverage),
            "accuracy_on_labelled": rounded(sug.accuracy),
            "accuracy_without_threshold": rounded(sug.base_accuracy),
            "curve": {
                f"{p.threshold:.2f}": [rounded(p.coverage, 3), rounded(p.accuracy, 3)]
                for p in report.points
                if round(p.threshold * 100) % 10 == 0 or p.threshold in (0.95, 0.99)
            },
            "curve_columns": ["coverage", "accuracy_on_labelled"],
        }

        scenes = load_scenes(25 if args.quick else None)
        result["scenes"] = {
            "dataset": VOC.name,
            "scenes": len(scenes),
            "faces": sum(len(o) for _, _, o in scenes),
            "iou_threshold": 0.5,
            "matching": "one-to-one, highest IoU first (core.geometry.match_boxes)",
            "class_mapping": MAPPING,
            "detectors": {},
        }
        for name in args.detectors:
            detector = get_detector(name)
            entry = scene_report(Predictor(detector, fast, 0.0), scenes, threshold)
            if hasattr(detector, "passes"):
                entry["passes"] = detector.passes
            result["scenes"]["detectors"][name] = entry
        default = args.detectors[0]
        predictor = Predictor(get_detector(default), fast, 0.0)
        result["scenes"]["classifier_on_true_boxes"] = true_box_report(predictor, scenes, threshold)
        result["scenes"]["adaptive_min_face_px_evidence"] = scale_evidence(scenes)

        frame_sets = {
            "voc_crops_1to3_faces": crop_frames(load_scenes(None), 20 if args.quick else 60),
            "webcam_gif_1_face": gif_frames(8 if args.quick else 22),
            "voc_full_scenes_resized": [
                cv2.resize(img, (FRAME_W, FRAME_H), interpolation=cv2.INTER_AREA)
                for _, img, _ in scenes[: 8 if args.quick else 30]
            ],
        }
        predictors = {}
        for name in args.detectors:
            predictors[f"{name}+fast"] = Predictor(get_detector(name), fast, threshold)
            predictors[f"{name}+predict"] = Predictor(get_detector(name), classifiers["keras"], threshold)
        repeats = args.repeats or (1 if args.quick else 2)
        result["speed"] = {
            "frame": f"{FRAME_W}x{FRAME_H}",
            "fast_backend": fast.backend,
            "repeats": repeats,
            "frame_sets": speed_report(predictors, frame_sets, repeats),
        }
        result["hard_cases"] = {
            "classifier_test_split": hard_cases(fast, test, labels, threshold),
            "mirrored_scenes": scene_report(
                Predictor(get_detector(default), fast, 0.0), scenes, threshold, flip=True
            ),
            "narrow_faces": "see scenes.detectors.*.narrow_faces_w_over_h_under_0_75 (side-face proxy)",
        }
        crops = result["speed"]["frame_sets"]["voc_crops_1to3_faces"]
        det_default = result["scenes"]["detectors"].get(default, {})
        haar_ref = crops.get("haar+predict", {}).get("p50")
        mine = crops.get(f"{default}+fast", {}).get("p50")
        result["targets"] = {
            "default_detector": default,
            "recall_with_mask": det_default.get("recall_with_mask"),
            "recall_with_mask_target": TARGETS["recall_with_mask"],
            "p50_ms_1to3_faces": mine,
            "p50_ms_target": TARGETS["p50_ms"],
            "speedup_vs_haar_predict": rounded(haar_ref / mine, 2) if haar_ref and mine else None,
            "speedup_target": TARGETS["speedup_vs_haar_predict"],
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from benchmarks.common import emit

    return emit(result, t_all)


if __name__ == "__main__":
    sys.exit(main())
