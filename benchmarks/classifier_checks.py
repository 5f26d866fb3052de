"""The classifier alone, on the test split of the Predict benchmark's run: every backend of
core.vision.classifier against the Keras `model.predict` reference, and the hard cases as numbers.

A library module (no `__main__`): imported by benchmarks.predict.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.frames import rounded


def backend_report(run_id: str, root: Path, test: Any, quick: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every backend against model.predict on the test split, and their ms for 1 and 3 faces."""
    from core.runs.models import classifier_for_run

    names = ["keras", "tf.function", "litert"] + ([] if quick else ["litert-int8"])
    probe = test.x[:16]
    classifiers, out = {}, {}
    auto = classifier_for_run(run_id, root, probe=probe)
    ref = auto.predict_reference(test.x)
    for name in names:
        start = time.perf_counter()
        clf = auto if name == auto.backend else classifier_for_run(run_id, root, backend=name, probe=probe)
        load_s = time.perf_counter() - start
        probs = np.concatenate([clf.predict(test.x[i : i + 32]) for i in range(0, len(test.x), 32)])
        classifiers[name] = clf
        out[name] = {
            "max_prob_diff_test_split": float(f"{np.abs(probs - ref).max():.3g}"),
            "label_agreement_test_split": rounded((probs.argmax(1) == ref.argmax(1)).mean()),
            "load_s": rounded(load_s, 2),
        }
    times: dict[str, dict[int, list[float]]] = {n: {1: [], 3: []} for n in names}
    reps = 8 if quick else 25
    for i in range(reps):
        for n in names:
            for k in (1, 3):
                batch = test.x[(i * 3) % 200 : (i * 3) % 200 + k]
                t0 = time.perf_counter()
                classifiers[n].predict(batch)
                times[n][k].append((time.perf_counter() - t0) * 1000)
    for n in names:
        out[n]["ms_1_face_p50"] = rounded(np.median(times[n][1][1:]), 1)
        out[n]["ms_3_faces_p50"] = rounded(np.median(times[n][3][1:]), 1)
    auto_info = {
        "chosen": auto.backend,
        "rule": "first of FAST_ORDER whose probe probabilities stay within PROB_TOLERANCE of model.predict",
        "checks": [c.describe() for c in auto.checks],
    }
    return {"auto": auto_info, **out}, classifiers


def hard_cases(clf: Any, test: Any, labels: list[str], threshold: float) -> dict[str, Any]:
    """Classifier numbers on edited or selected test-split crops (never seen in training)."""
    import cv2

    wm, wo = labels.index("with_mask"), labels.index("without_mask")
    x, y = test.x, test.y
    s = x.shape[1]

    def rates(batch: np.ndarray) -> dict[str, Any]:
        p = clf.predict(batch) if len(batch) else np.zeros((0, len(labels)))
        top = p.argmax(1) if len(p) else np.zeros(0, int)
        return {
            "faces": len(batch),
            "predicted_with_mask": rounded((top == wm).mean() if len(p) else None),
            "uncertain_at_threshold": rounded((p.max(1) < threshold).mean() if len(p) else None),
        }

    # A skin patch over the mouth: the face's own forehead, stretched over the lower middle,
    # with soft edges (a proxy for a hand; the data set has no real hand-over-mouth faces).
    bare = x[y == wo]
    covered = bare.copy()
    yy, xx = np.mgrid[0:s, 0:s]
    mask = (((xx - s * 0.5) / (s * 0.28)) ** 2 + ((yy - s * 0.74) / (s * 0.17)) ** 2) <= 1.0
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), s * 0.02)[..., None]
    for i, img in enumerate(bare):
        patch = img[int(s * 0.12) : int(s * 0.3), int(s * 0.3) : int(s * 0.7)]
        patch = cv2.resize(patch, (s, s), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        covered[i] = np.clip(img * (1 - alpha) + patch * alpha, 0, 255).astype(np.uint8)
    # Dark masks: with_mask crops whose lower middle is dark (median luma < 70).
    masked = x[y == wm]
    luma = masked[:, int(s * 0.6) : int(s * 0.9), int(s * 0.3) : int(s * 0.7)].mean(axis=3)
    dark = masked[np.median(luma.reshape(len(masked), -1), axis=1) < 70]
    return {
        "without_mask_test_crops": rates(bare),
        "skin_patch_over_mouth": {
            **rates(covered),
            "note": "same without_mask crops, forehead skin pasted over the mouth (hand proxy)",
        },
        "with_mask_test_crops": rates(masked),
        "dark_masks": {**rates(dark), "note": "with_mask crops whose mask area has median luma < 70"},
    }
