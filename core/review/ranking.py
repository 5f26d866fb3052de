"""Scoring candidate faces with a model and putting them in review order.

    candidates -> each photo read once -> the Predict crop (core.inference.predictor.crop_faces)
      -> the model's probabilities (Classifier.predict, batched)
      -> the default family's (MobileNetV2) base features of the same crops (core.training.features' bank, base from
         core.runs.pretrained) -> scores.priorities + collapse_duplicates + review_order

`model_ref` is a run id or "starter"; None means the active model (core.runs.active_model),
else the starter. The model a queue was scored with is recorded (`ModelInfo`: run id, file
digest and mtime) so a queue knows when it is stale.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.annotation.annotations import NONE
from core.data.provenance import sha256_file
from core.errors import ClassifierError, ConfigError, MaskStudioError
from core.geometry import xyxy_floats
from core.imaging import CROP_SIZE, load_rgb_array, resize_square
from core.inference.predictor import crop_faces
from core.review.scores import (
    RANDOM_SHARE,
    UNCERTAINTY,
    WHY_RANDOM,
    collapse_duplicates,
    priorities,
    review_order,
)
from core.review.sources import Candidate, Collected, ReviewError
from core.runs.active_model import get_active
from core.runs.models import classifier_for_run, run_labels, run_model_path
from core.runs.starter import MODEL_FILE, STARTER_ID, starter_dir, starter_labels, starter_status
from core.runs.store import load_run
from core.vision.classifier import Classifier
from models.registry import DEFAULT_MODEL

#: Crops go to the classifier this many at a time.
BATCH = 128
#: Crops held in memory at once (each 240 px: 173 kB), classified and featurised together.
CHUNK = 512
#: The size at which near-duplicate features are computed (small: only similarity matters).
FEATURE_SIZE = 96
#: The pretrained family whose base features find near-duplicates (models.registry).
FEATURE_FAMILY = DEFAULT_MODEL
_FEATURES: dict[tuple[str, int], Any] = {}
_FEATURES_GUARD = threading.Lock()


@dataclass(frozen=True)
class ModelInfo:
    """The model a queue is scored with: run id (or "starter"), its file, digest, mtime, labels."""

    run_id: str
    file: str
    digest: str
    mtime: float
    labels: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, data: Any) -> ModelInfo | None:
        try:
            return cls(
                str(data["run_id"]),
                str(data["file"]),
                str(data["digest"]),
                float(data["mtime"]),
                tuple(str(v) for v in data["labels"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def default_model_ref(root: Path | None = None) -> str:
    """The active model's run id, else "starter"; ReviewError when neither can classify."""
    active = get_active(root)
    if active:
        return active
    if starter_status().available:
        return STARTER_ID
    raise ReviewError("no model to rank faces with: make a finished run the active model")


def model_info(model_ref: str | None = None, root: Path | None = None, *, digest: bool = True) -> ModelInfo:
    """What `model_ref` names now (no model is loaded); ReviewError when it cannot classify."""
    ref = model_ref or default_model_ref(root)
    try:
        if ref == STARTER_ID:
            status = starter_status()
            if not status.available:
                raise ReviewError(f"the starter model cannot be used: {status.reason}")
            path, labels = starter_dir() / MODEL_FILE, starter_labels()
        else:
            record = load_run(ref, root)
            if record.state != "done":
                raise ReviewError(f"run {ref} is {record.state}; only a finished run can rank faces")
            path, labels = run_model_path(record.path), run_labels(record.path, record.metrics)
        mtime = path.stat().st_mtime
    except ReviewError:
        raise
    except (MaskStudioError, OSError) as exc:
        raise ReviewError(f"model {ref!r} cannot rank faces: {exc}") from exc
    return ModelInfo(ref, str(path), sha256_file(path)[:16] if digest else "", mtime, tuple(labels))


def load_classifier(info: ModelInfo, root: Path | None = None) -> Classifier:
    """The Classifier of `info`, as Predict builds it."""
    try:
        if info.run_id == STARTER_ID:
            from core.runs.starter import starter_classifier

            return starter_classifier(root=root)
        return classifier_for_run(info.run_id, root)
    except MaskStudioError as exc:
        raise ReviewError(f"model {info.run_id!r} cannot be loaded: {exc}") from exc


def check_classes(labels: Sequence[str], categories: Sequence[str], project: str) -> None:
    """ReviewError when the model's classes do not fit the project: some model class is not a
    category of it (a project with no category but "None" fits any model)."""
    cats = [c for c in categories if c != NONE]
    if not cats:
        return
    missing = [lb for lb in labels if lb not in cats]
    if missing:
        raise ReviewError(
            f"the model's classes ({', '.join(labels)}) do not match the categories of project "
            f"{project!r} ({', '.join(cats)}): {', '.join(missing)} is not one of them. Choose a model "
            "trained on this project's classes, or add or rename the categories."
        )


@dataclass
class QueueEntry:
    """One face of the queue, in review order. `review` is None until it is reviewed."""

    key: str
    image: str
    xyxy: tuple[float, float, float, float]
    det_score: float
    project: str
    image_name: str
    box_id: str
    label: str | None
    priority: float
    guess: str
    confidence: float
    probs: dict[str, float]
    why: list[str]
    review: dict[str, Any] | None = None

    @property
    def random(self) -> bool:
        return WHY_RANDOM in self.why

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["xyxy"] = [round(float(v), 2) for v in self.xyxy]
        out["det_score"] = None if not math.isfinite(self.det_score) else round(self.det_score, 4)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueEntry:
        det = data.get("det_score")
        return cls(
            key=str(data["key"]),
            image=str(data["image"]),
            xyxy=xyxy_floats(data["xyxy"]),
            det_score=float(det) if det is not None else math.nan,
            project=str(data.get("project") or ""),
            image_name=str(data.get("image_name") or ""),
            box_id=str(data.get("box_id") or ""),
            label=data.get("label"),
            priority=float(data["priority"]),
            guess=str(data["guess"]),
            confidence=float(data["confidence"]),
            probs={str(k): float(v) for k, v in dict(data.get("probs") or {}).items()},
            why=[str(v) for v in data.get("why") or []],
            review=data.get("review") if isinstance(data.get("review"), dict) else None,
        )


@dataclass
class Scored:
    """Probabilities (n, classes) and base features (n, d) or None, for the candidates kept
    (those whose photo could still be read), with the photos skipped."""

    candidates: list[Candidate]
    probs: np.ndarray
    features: np.ndarray | None
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def score_candidates(
    candidates: Sequence[Candidate], classifier: Classifier, *, features: bool = True
) -> Scored:
    """Read each photo once, crop its faces as Predict does, classify in batches; base features
    of the same crops when `features` (None with a note when no base of FEATURE_FAMILY is here).
    Crops are held CHUNK at a time, so a folder of thousands of faces needs little memory."""
    by_image: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        by_image.setdefault(c.image, []).append(i)
    out = Scored([], np.zeros((0, len(classifier.labels)), np.float32), None)
    probs: list[np.ndarray] = []
    feats: list[np.ndarray] | None = [] if features else None
    chunk: list[np.ndarray] = []

    def flush() -> None:
        nonlocal feats
        if not chunk:
            return
        crops = np.stack(chunk)
        chunk.clear()
        for start in range(0, len(crops), BATCH):
            probs.append(classifier.predict(_resized(crops[start : start + BATCH], classifier.image_size)))
        if feats is not None:
            try:
                feats.append(base_features_of(crops))
            except (ConfigError, ClassifierError, OSError, ValueError) as exc:
                out.notes.append(f"Near-duplicates were not collapsed: no MobileNetV2 base ({exc}).")
                feats = None

    for image, idx in by_image.items():
        try:
            frame = load_rgb_array(image)
        except MaskStudioError as exc:
            out.skipped.append(str(exc))
            continue
        chunk.extend(crop_faces(frame, [candidates[i].xyxy for i in idx], CROP_SIZE))
        out.candidates.extend(candidates[i] for i in idx)
        if len(chunk) >= CHUNK:
            flush()
    flush()
    if probs:
        out.probs = np.concatenate(probs).astype(np.float32)
    if feats:
        out.features = np.concatenate(feats)
    return out


def _resized(crops: np.ndarray, size: int) -> np.ndarray:
    """Crops at CROP_SIZE resized as training resizes dataset files (crop_faces' second step)."""
    if size == CROP_SIZE:
        return crops
    return np.stack([resize_square(Image.fromarray(c), size) for c in crops])


def _feature_model(size: int) -> tuple[Any, str]:
    """(a classifier of FEATURE_FAMILY whose base gives the pooled features, the base's digest),
    built once per base and size."""
    from core.runs.pretrained import backbone_of, base_source
    from models.registry import WeightsUnavailable, build_model

    backbone = backbone_of(FEATURE_FAMILY)
    weights = base_source(FEATURE_FAMILY).weights
    with _FEATURES_GUARD:
        held = _FEATURES.get((weights, size))
        if held is None:
            try:
                model = build_model(FEATURE_FAMILY, size, 2, 8, 0.5, False, weights=weights)
            except WeightsUnavailable as exc:
                raise ConfigError(str(exc)) from exc
            held = (backbone.feature_model(model), backbone.base_digest(model), model)
            _FEATURES[(weights, size)] = held
    return held[2], held[1]


def base_features_of(crops: np.ndarray, size: int = FEATURE_SIZE, root: Path | None = None) -> np.ndarray:
    """Pooled base features of FEATURE_FAMILY (MobileNetV2: n x 1280) of face crops, through the feature bank of
    core.training.features (rows keyed by crop content, so a crop is computed once)."""
    from core.data.arrays import SplitArrays
    from core.training.features import base_features, feature_cache_path

    model, digest = _feature_model(size)
    x = _resized(crops, size)
    keys = [hashlib.sha256(c.tobytes()).hexdigest() for c in x]
    empty = SplitArrays(x[:0], np.zeros(0, np.int64), [], [])
    arrays = {"train": SplitArrays(x, np.zeros(len(x), np.int64), keys, keys), "val": empty, "test": empty}
    cache = feature_cache_path("", size, root, base=digest, family=FEATURE_FAMILY)
    feats, _, _ = base_features(model, arrays, cache, family=FEATURE_FAMILY)
    return feats["train"]


def rank(
    collected: Collected,
    classifier: Classifier,
    *,
    class_counts: Mapping[str, int] | None = None,
    share: float = RANDOM_SHARE,
    seed: int = 0,
    measure: str = UNCERTAINTY,
    features: bool = True,
) -> tuple[list[QueueEntry], list[str], list[str]]:
    """(entries in review order, photos skipped, notes). Near-duplicates are left out of the
    order (one face per cluster); a random share is interleaved and marked."""
    scored = score_candidates(collected.candidates, classifier, features=features)
    cands, probs = scored.candidates, scored.probs
    if not cands:
        return [], collected.skipped + scored.skipped, scored.notes
    labels = classifier.labels
    top = probs.argmax(axis=1)
    guesses = [labels[int(t)] for t in top]
    dets = np.array([c.det_score for c in cands], dtype=np.float64)
    prio, why = priorities(probs, dets, guesses, dict(class_counts or {}), measure)
    keep = (
        collapse_duplicates(scored.features, prio)
        if scored.features is not None
        else np.arange(len(cands), dtype=np.int64)
    )
    order = review_order(prio, keep.tolist(), share=share, seed=seed)
    entries = []
    for i in order.indices:
        c = cands[i]
        reasons = [WHY_RANDOM] if i in order.random else why[i]
        entries.append(
            QueueEntry(
                key=c.key,
                image=c.image,
                xyxy=xyxy_floats(c.xyxy),
                det_score=float(c.det_score),
                project=c.project,
                image_name=c.image_name,
                box_id=c.box_id,
                label=c.label,
                priority=round(float(prio[i]), 6),
                guess=guesses[i],
                confidence=round(float(probs[i, top[i]]), 6),
                probs={lb: round(float(p), 6) for lb, p in zip(labels, probs[i], strict=True)},
                why=list(reasons),
            )
        )
    notes = list(scored.notes)
    dropped = len(cands) - len(keep)
    if dropped:
        notes.append(f"{dropped} near-duplicate face(s) left out (one face per cluster).")
    return entries, collected.skipped + scored.skipped, notes
