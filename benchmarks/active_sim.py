"""What benchmarks/active.py simulates with: the detected faces of the VOC scenes (detected once,
at Predict's default detector), the queue's order over them, its lift, and the datasets of the
faces a simulated reviewer labelled."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SHARED

VOC = SHARED / "face_mask_detection_voc"
BINARY = SHARED / "face_mask_binary_real"
#: The scene classes as the binary models call them (core.training.starter_build.VOC_LABEL_MAP).
LABEL_MAP = {"with_mask": "with_mask", "without_mask": "without_mask", "mask_weared_incorrect": "with_mask"}
#: Share of the queue's head that the lift is measured on.
HEAD_SHARE = 0.2


@dataclass
class Pool:
    """Every face the detector finds in the scenes, in scene order: its scene, box, detector
    score, the labelled face it matches (its class as the model names it; None: no labelled face,
    "not a face" to a reviewer), the model input crop and its MobileNetV2 base features."""

    scene: list[str]
    xyxy: list[tuple[float, float, float, float]]
    det_score: np.ndarray
    truth: list[str | None]
    crops: np.ndarray
    features: np.ndarray
    sizes: dict[str, tuple[int, int]]
    paths: dict[str, Path]
    detect_s: float

    def where(self, scenes: Sequence[str]) -> np.ndarray:
        keep = set(scenes)
        return np.array([i for i, s in enumerate(self.scene) if s in keep], dtype=np.int64)


class CachedDetector:
    """Predict's default detector, run once per photo: the scene test and the pool share its boxes."""

    def __init__(self, detector: Any, name: str) -> None:
        self.detector, self.name = detector, name
        self.cache: dict[str, list[Any]] = {}

    def detect(self, rgb: np.ndarray) -> list[Any]:
        key = hashlib.sha1(np.ascontiguousarray(rgb).tobytes()).hexdigest()
        if key not in self.cache:
            self.cache[key] = list(self.detector.detect(rgb))
        return self.cache[key]


def detect_pool(scene_set: Any, detector: CachedDetector, image_size: int) -> Pool:
    """Detect every scene once, match detections to the labelled faces (IoU >= 0.5, one to one)."""
    import time

    from core.geometry import match_boxes
    from core.imaging import load_rgb_array
    from core.inference.predictor import crop_faces

    scene, xyxy, score, truth, crops = [], [], [], [], []
    sizes, paths = {}, {}
    spent = 0.0
    for s in scene_set.scenes:
        rgb = load_rgb_array(s.path)
        t0 = time.perf_counter()
        dets = detector.detect(rgb)
        spent += time.perf_counter() - t0
        sizes[s.name], paths[s.name] = (rgb.shape[1], rgb.shape[0]), s.path
        match = match_boxes([d.xyxy for d in dets], [f.xyxy for f in s.faces])
        by_det = {p: t for p, t, _ in match.pairs}
        for i, d in enumerate(dets):
            scene.append(s.name)
            xyxy.append(tuple(float(v) for v in d.xyxy))
            score.append(float(d.score))
            t = by_det.get(i)
            truth.append(LABEL_MAP.get(s.faces[t].label) if t is not None else None)
        crops.append(crop_faces(rgb, dets, image_size))
    return Pool(
        scene,
        xyxy,
        np.asarray(score, np.float64),
        truth,
        np.concatenate(crops),
        np.zeros((0, 0), np.float32),
        sizes,
        paths,
        spent,
    )


def predict(fn: Any, x: np.ndarray, batch: int = 64) -> np.ndarray:
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def base_features(keras_model: Any, crops: np.ndarray) -> np.ndarray:
    """MobileNetV2 pooled base features of model-input crops (the feature bank's)."""
    from models.mobilenet_v2 import feature_model

    extractor = feature_model(keras_model)
    return extractor.predict(crops.astype(np.float32), batch_size=64, verbose=0).astype(np.float32)


@dataclass(frozen=True)
class Setting:
    """One ranking setting tried: the uncertainty measure and the weights of core.review.scores."""

    measure: str
    border_weight: float
    rarity_weight: float

    def name(self) -> str:
        return f"{self.measure}/border{self.border_weight:g}/rarity{self.rarity_weight:g}"


def queue_order(
    pool: Pool,
    idx: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    setting: Setting,
    seed: int,
    share: float | None = None,
) -> tuple[list[int], set[int]]:
    """The review queue over the pool faces `idx` as the app orders it: priority (the setting's
    measure and weights; the rarity of each guess among the guesses, as a project's unlabelled
    boxes count), near-duplicates collapsed, the seeded random share. (pool indices, randoms)"""
    from core.review import scores

    p = probs[idx]
    guesses = [labels[int(j)] for j in p.argmax(1)]
    saved = scores.BORDER_WEIGHT, scores.RARITY_WEIGHT
    scores.BORDER_WEIGHT, scores.RARITY_WEIGHT = setting.border_weight, setting.rarity_weight
    try:
        prio, _ = scores.priorities(p, pool.det_score[idx], guesses, Counter(guesses), setting.measure)
    finally:
        scores.BORDER_WEIGHT, scores.RARITY_WEIGHT = saved
    kept = scores.collapse_duplicates(pool.features[idx], prio)
    order = scores.review_order(prio, kept, scores.RANDOM_SHARE if share is None else share, seed)
    return [int(idx[i]) for i in order.indices], {int(idx[i]) for i in order.random}


def misses(pool: Pool, probs: np.ndarray, labels: Sequence[str], threshold: float) -> np.ndarray:
    """Per pool face: 1 where the model is wrong or uncertain on a labelled face, 0 where right,
    NaN for a detection that matches no labelled face."""
    top = probs.argmax(1)
    out = np.full(len(pool.truth), np.nan)
    for i, t in enumerate(pool.truth):
        if t is not None:
            out[i] = float(labels[int(top[i])] != t or probs[i, top[i]] < threshold - 1e-6)
    return out


def lift(order: Sequence[int], miss: np.ndarray, idx: np.ndarray) -> dict[str, Any]:
    """Miss rate of the labelled faces in the queue's first HEAD_SHARE, over that of every
    labelled face of `idx` (the pool the queue was drawn from)."""
    head = [i for i in order[: max(1, round(HEAD_SHARE * len(order)))] if not np.isnan(miss[i])]
    every = miss[idx][~np.isnan(miss[idx])]
    overall = float(every.mean()) if len(every) else float("nan")
    head_rate = float(np.mean(miss[head])) if head else float("nan")
    return {
        "lift": round(head_rate / overall, 3) if overall > 0 else None,
        "head_miss_rate": round(head_rate, 4),
        "overall_miss_rate": round(overall, 4),
        "head_faces": len(head),
        "faces": int(len(every)),
    }


def reviewed_voc(pool: Pool, picked: Sequence[int], dest: Path) -> tuple[Path, dict[str, int]]:
    """A VOC folder (annotations/, images/) of the reviewed faces: each picked face matching a
    labelled face, at the detector's box (as the reviewer saw it), with the labelled class; a
    picked detection matching none was reviewed as "not a face" and adds nothing.
    (folder, {class: faces, "not_a_face": n})"""
    import os

    from core.annotation.annotations import Box
    from core.annotation.formats.voc import voc_xml

    (dest / "annotations").mkdir(parents=True)
    (dest / "images").mkdir()
    by_scene: dict[str, list[Box]] = {}
    counts: Counter[str] = Counter()
    for i in picked:
        label = pool.truth[i]
        counts[label or "not_a_face"] += 1
        if label is None:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in pool.xyxy[i])
        by_scene.setdefault(pool.scene[i], []).append(Box(x1, y1, x2, y2, label))
    for name, boxes in by_scene.items():
        path = pool.paths[name]
        os.symlink(path, dest / "images" / path.name)
        (dest / "annotations" / f"{path.stem}.xml").write_bytes(voc_xml(path.name, pool.sizes[name], boxes))
    return dest, dict(counts)


def build_reviewed(name: str, root: Path, voc: Path, tmp: Path) -> str:
    """face_mask_binary_real plus the reviewed faces (cut at the reviewed box), split as the
    product splits; the dataset version."""
    from core.training.starter_build import build_dataset

    return build_dataset(name, root, binary=BINARY, voc=voc, scenes=None, tmp=tmp, voc_crops="truth")


def spread(values: Sequence[float | None]) -> dict[str, Any]:
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if not len(v):
        return {"mean": None, "n": 0}
    return {
        "mean": round(float(v.mean()), 4),
        "std": round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 4),
        "min": round(float(v.min()), 4),
        "max": round(float(v.max()), 4),
        "n": int(len(v)),
    }
