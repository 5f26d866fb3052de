"""What the scene benchmark computes from a trained run and its scene reports: crop accuracy on
the test split, the report re-scored at another threshold or temperature (top label: threshold
0), calibration (temperature fitted on the validation split, ECE before and after), and figures
pooled over the folds.

A library module (no `__main__`): imported by benchmarks.scenes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def crop_accuracy(run_id: str, root: Path) -> dict[str, Any]:
    """Accuracy of a run's model on its test files from face_mask_binary_real."""
    from core.data.arrays import load_arrays
    from core.data.manifest import find_manifest
    from core.data.provenance import load_sources
    from core.runs.models import classifier_for_run
    from core.runs.store import load_run

    record = load_run(run_id, root)
    manifest, folder = find_manifest(record.config["dataset_version"], root)
    sources = load_sources(folder)
    clf = classifier_for_run(run_id, root, backend="keras")
    test = load_arrays(manifest, folder, clf.image_size, root)["test"]
    keep = [
        i for i, k in enumerate(test.keys) if (sources.get(k) or {}).get("source", "").startswith("folder:")
    ]
    probs = np.concatenate([clf.predict(test.x[keep][i : i + 64]) for i in range(0, len(keep), 64)])
    acc = float((probs.argmax(1) == test.y[keep]).mean())
    return {
        "binary_test_images": len(keep),
        "binary_test_accuracy": round(acc, 4),
        "all_test": record.metrics.get("accuracy"),
    }


def top_label_report(report: Any) -> dict[str, Any]:
    """The same faces labelled by their top class (no uncertain): what the threshold costs."""
    return rescored(report, 0.0)


def _scaled(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities with temperature scaling (softmax of log p / T)."""
    z = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def rescored(report: Any, threshold: float, temperature: float = 1.0) -> dict[str, Any]:
    """The same detected faces decided again: probabilities temperature-scaled, then `threshold`."""
    from dataclasses import replace

    from core.inference.scene_scores import build_report, score_photo
    from core.inference.scene_sets import Scene, SceneFace

    photos = []
    for p in report.photos:
        scene = Scene(p.name, p.path, tuple(SceneFace(t.label, t.xyxy) for t in p.truths))
        mapping = {t.label: t.target for t in p.truths}
        faces = []
        for f in p.faces:
            if f.probs and temperature != 1.0:
                names = list(f.probs)
                q = _scaled(np.array([f.probs[n] for n in names]), temperature)
                f = replace(f, probs=dict(zip(names, q.tolist(), strict=True)), confidence=float(q.max()))
            faces.append(f.with_threshold(threshold))
        photos.append(score_photo(scene, faces, mapping))
    labels = list(report.per_class)
    return build_report(photos, labels, threshold, report.detector).to_dict()


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top probability (equal-width bins)."""
    top, right = probs.max(axis=1), probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (top > lo) & (top <= hi)
        if inside.any():
            total += inside.mean() * abs(right[inside].mean() - top[inside].mean())
    return float(total)


def calibration(run_id: str, root: Path, report: Any) -> dict[str, Any]:
    """Temperature scaling fitted on the run's validation split (NLL over a grid): ECE on the
    test split's photo faces before and after, and the fold's scenes decided with the calibrated
    probabilities at a threshold chosen by the same photo rule on calibrated test faces."""
    from core.data.arrays import load_arrays
    from core.data.manifest import find_manifest
    from core.data.provenance import load_sources
    from core.runs.models import classifier_for_run
    from core.runs.store import load_run
    from core.runs.thresholds import PHOTO_MIN_COVERAGE, photo_faces, report_from_probs

    record = load_run(run_id, root)
    manifest, folder = find_manifest(record.config["dataset_version"], root)
    clf = classifier_for_run(run_id, root, backend="keras")
    arrays = load_arrays(manifest, folder, clf.image_size, root)

    def predict(a: Any) -> np.ndarray:
        return np.concatenate([clf.predict(a.x[i : i + 64]) for i in range(0, len(a), 64)])

    val_p, test_p = predict(arrays["val"]), predict(arrays["test"])
    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 61))
    nll = [-np.mean(np.log(_scaled(val_p, t)[np.arange(len(val_p)), arrays["val"].y] + 1e-12)) for t in grid]
    t_best = float(grid[int(np.argmin(nll))])
    test = arrays["test"]
    keep, _ = photo_faces([str(p) for p in test.paths], list(test.keys), load_sources(folder))
    idx = np.asarray(keep or range(len(test)))
    cal = _scaled(test_p[idx], t_best)
    suggestion = report_from_probs(cal, test.y[idx], "", PHOTO_MIN_COVERAGE).suggestion
    scenes = rescored(report, suggestion.threshold, t_best)
    return {
        "temperature": round(t_best, 3),
        "ece_photo_test_before": round(ece(test_p[idx], test.y[idx]), 4),
        "ece_photo_test_after": round(ece(cal, test.y[idx]), 4),
        "calibrated_threshold": suggestion.threshold,
        "scenes": {k: scenes[k] for k in ("found_and_right", "accuracy_on_found", "per_class")},
    }


def pool(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled figures over folds (sums of counts), plus each fold's and the lowest."""
    per: dict[str, dict[str, int]] = {}
    det = {"truths": 0, "found": 0, "detections": 0, "false": 0}
    for r in reports:
        for c, s in r["per_class"].items():
            d = per.setdefault(c, {"faces": 0, "right": 0, "wrong": 0, "uncertain": 0, "missed": 0})
            for k in d:
                d[k] += s[k]
        det["truths"] += r["faces"]
        det["found"] += r["found_faces"]
        det["false"] += r["false_detections"]
        det["detections"] += r["detections"]
    right = sum(d["right"] for d in per.values())
    found = sum(d["right"] + d["wrong"] + d["uncertain"] for d in per.values())
    decided = right + sum(d["wrong"] for d in per.values())
    fold_far = {c: [r["found_and_right"].get(c) for r in reports] for c in per}
    uncertain = sum(d["uncertain"] for d in per.values())
    return {
        "faces": det["truths"],
        "abstained": round(uncertain / found, 4) if found else None,
        "found_and_right": {c: round(d["right"] / d["faces"], 4) for c, d in per.items() if d["faces"]},
        "found_and_right_lowest_fold": {
            c: min(v for v in vals if v is not None) for c, vals in fold_far.items()
        },
        "accuracy_on_found": round(right / found, 4) if found else None,
        "accuracy_on_decided": round(right / decided, 4) if decided else None,
        "accuracy_on_found_per_fold": [r["accuracy_on_found"] for r in reports],
        "detector_recall": round(det["found"] / det["truths"], 4) if det["truths"] else None,
        "detector_precision": round(1 - det["false"] / det["detections"], 4) if det["detections"] else None,
        "false_detections": det["false"],
        "per_class": per,
    }
