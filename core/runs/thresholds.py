"""The "uncertain" threshold: how it trades accuracy against coverage, and a suggested default.

A face whose top probability is under the threshold is labelled "uncertain". On a labelled set
each threshold t gives
    coverage  = share of faces still given a class (top probability >= t)
    accuracy  = share of those that are right.
Raising t removes the least confident faces first, so accuracy usually rises as coverage falls.

Which faces: when a run's test split holds at least PHOTO_MIN_FACES faces cut from photos (VOC or
project sources), the threshold is chosen on those, the detector-framed ones where there are
enough (they are cropped as Predict crops), with the photo rule: at most 5% of faces uncertain
(PHOTO_MIN_COVERAGE). Otherwise the whole test split, with the crop rule (MIN_COVERAGE).

Suggested default: the lowest threshold that halves the error rate of "always answer" while
keeping at least the rule's coverage; if no threshold does both, the one with the best accuracy
among those that keep it. The run's curve and suggestion are cached in its folder
(`thresholds.json`, atomic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ClassifierError, MaskStudioError
from core.fsutil import atomic_write_json

if TYPE_CHECKING:
    from core.vision.classifier import Classifier

#: Thresholds of the curve (and of the page's slider): 0.00, 0.01, ..., 1.00.
GRID = tuple(round(i / 100, 2) for i in range(101))
#: A suggested threshold never leaves fewer than this share of faces labelled (crops rule).
MIN_COVERAGE = 0.8
#: Chosen on faces from photos, at most 5% of them are left uncertain (photo rule).
PHOTO_MIN_COVERAGE = 0.95
#: Photo faces needed in the test split to choose on them (and detector-framed ones to prefer those).
PHOTO_MIN_FACES = 30
CACHE_FILE = "thresholds.json"
CACHE_FORMAT = 2
#: Probabilities are float32: a top probability this close under a threshold counts as reaching it.
TIE_EPSILON = 1e-6


@dataclass(frozen=True)
class CurvePoint:
    """One threshold: coverage, accuracy on the covered faces (None when none is covered)."""

    threshold: float
    coverage: float
    accuracy: float | None
    labelled: int
    correct: int


@dataclass(frozen=True)
class Suggestion:
    """The suggested threshold, what it gives, and the rule that chose it (one sentence)."""

    threshold: float
    coverage: float
    accuracy: float | None
    base_accuracy: float | None
    target_accuracy: float | None
    rule: str


@dataclass(frozen=True)
class ThresholdReport:
    """A curve over a labelled set, its suggestion, and where it came from."""

    points: tuple[CurvePoint, ...]
    suggestion: Suggestion
    faces: int
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": [asdict(p) for p in self.points],
            "suggestion": asdict(self.suggestion),
            "faces": self.faces,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThresholdReport:
        return cls(
            points=tuple(CurvePoint(**p) for p in data["points"]),
            suggestion=Suggestion(**data["suggestion"]),
            faces=int(data["faces"]),
            source=str(data.get("source", "")),
        )


def threshold_curve(
    probs: np.ndarray, y_true: Sequence[int] | np.ndarray, thresholds: Sequence[float] = GRID
) -> list[CurvePoint]:
    """Coverage and accuracy at each threshold, for class probabilities (N, C) and true indices."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"probs must be (N, C) with one true label per row, got {p.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError("true labels must index the probability columns")
    top = p.max(axis=1) if len(p) else np.zeros(0)
    right = p.argmax(axis=1) == y if len(p) else np.zeros(0, bool)
    points = []
    for t in thresholds:
        kept = top >= float(t) - TIE_EPSILON  # as core.inference.predictor.decide
        n, ok = int(kept.sum()), int(right[kept].sum())
        points.append(
            CurvePoint(
                threshold=float(t),
                coverage=n / len(y) if len(y) else 0.0,
                accuracy=ok / n if n else None,
                labelled=n,
                correct=ok,
            )
        )
    return points


def suggest_threshold(points: Sequence[CurvePoint], min_coverage: float = MIN_COVERAGE) -> Suggestion:
    """The suggested default threshold of a curve (see the module docstring)."""
    if not points:
        raise ValueError("an empty curve has no suggestion")
    pts = sorted(points, key=lambda q: q.threshold)
    base = pts[0]
    if base.accuracy is None:
        return Suggestion(base.threshold, base.coverage, None, None, None, "no labelled faces to measure")
    target = 1.0 - (1.0 - base.accuracy) / 2.0
    usable = [q for q in pts if q.coverage >= min_coverage and q.accuracy is not None]
    for q in usable:
        if q.accuracy is not None and q.accuracy >= target - 1e-12:
            rule = (
                f"lowest threshold that halves the error ({1 - base.accuracy:.1%} -> at most "
                f"{1 - target:.1%}) while labelling at least {min_coverage:.0%} of faces"
            )
            if base.accuracy >= 1.0:
                rule = "no error to remove on this set: no face needs to be uncertain"
            return Suggestion(q.threshold, q.coverage, q.accuracy, base.accuracy, target, rule)
    best = max(usable, key=lambda q: (q.accuracy, -q.threshold))
    rule = (
        f"no threshold halves the error while labelling {min_coverage:.0%} of faces; this one has "
        "the best accuracy that still does"
    )
    return Suggestion(best.threshold, best.coverage, best.accuracy, base.accuracy, target, rule)


def curve_window(points: Sequence[CurvePoint], pad: float = 0.03) -> tuple[float, float, float]:
    """(x from, x to, y from) framing where a curve moves: the thresholds over which coverage
    or accuracy change, padded, and the lowest value shown (so a curve hugging 1.0 is readable)."""
    pts = sorted(points, key=lambda q: q.threshold)
    if not pts:
        return 0.0, 1.0, 0.0
    moving = [
        q.threshold
        for prev, q in zip(pts, pts[1:], strict=False)
        if q.coverage != prev.coverage or q.accuracy != prev.accuracy
    ]
    lo = max(pts[0].threshold, (min(moving) if moving else pts[0].threshold) - pad * 2)
    hi = min(pts[-1].threshold, (max(moving) if moving else pts[-1].threshold) + pad * 2)
    if hi - lo < 0.1:
        lo, hi = max(pts[0].threshold, lo - 0.05), min(pts[-1].threshold, hi + 0.05)
    shown = [q for q in pts if lo <= q.threshold <= hi]
    values = [q.coverage for q in shown] + [q.accuracy for q in shown if q.accuracy is not None]
    y_lo = max(0.0, min(values) - pad) if values else 0.0
    return lo, hi, y_lo


def plain_summary(s: Suggestion) -> str:
    """The suggestion in one plain sentence (markdown)."""
    if s.accuracy is None:
        return f"Suggested threshold **{s.threshold:.2f}** (no labelled test faces to measure it on)."
    base = "" if s.base_accuracy is None else f" (if every face got a class: {s.base_accuracy:.1%} right)"
    return (
        f"Suggested threshold **{s.threshold:.2f}**: a face whose most likely class has a lower "
        f"probability is shown as *uncertain*. On the faces it was chosen on, {s.coverage:.0%} then get "
        f"a class and {s.accuracy:.1%} of those are right{base}."
    )


def report_from_probs(
    probs: np.ndarray, y_true: np.ndarray, source: str = "", min_coverage: float = MIN_COVERAGE
) -> ThresholdReport:
    """Curve + suggestion for one labelled set."""
    points = threshold_curve(probs, y_true)
    return ThresholdReport(tuple(points), suggest_threshold(points, min_coverage), int(len(y_true)), source)


def photo_faces(paths: Sequence[str], keys: Sequence[str], sources: dict[str, Any]) -> tuple[list[int], str]:
    """Indices of the test files to choose the threshold on, and what they are (plain words):
    the detector-framed faces cut from photos when there are PHOTO_MIN_FACES, else all faces cut
    from photos when there are that many, else [] (the whole split then, with the crop rule)."""
    from core.data.provenance import is_detector_framed, is_photo_source

    photo = [i for i, k in enumerate(keys) if is_photo_source((sources.get(k) or {}).get("source", ""))]
    framed = [i for i in photo if is_detector_framed(paths[i])]
    if len(framed) >= PHOTO_MIN_FACES:
        return framed, "test-split faces cut from photos by the face detector (as Predict crops them)"
    if len(photo) >= PHOTO_MIN_FACES:
        return photo, "test-split faces cut from photos (labelled boxes)"
    return [], ""


def run_threshold_report(
    classifier: Classifier, run_id: str, root: Path | None = None, *, use_cache: bool = True
) -> ThresholdReport:
    """The curve of a run's model on its test split (the run's dataset version), cached in the
    run folder per model file and backend. ClassifierError when the test split is unavailable."""
    from core.data.arrays import load_arrays
    from core.data.manifest import find_manifest
    from core.runs.models import run_model_path
    from core.runs.store import load_run, read_json

    try:
        record = load_run(run_id, root)
        model_path = run_model_path(record.path)
        key = {
            "format": CACHE_FORMAT,
            "model_file": model_path.name,
            "model_mtime": model_path.stat().st_mtime,
            "backend": classifier.backend,
            "dataset_version": record.config.get("dataset_version"),
        }
        cache = record.path / CACHE_FILE
        cached = read_json(cache) if use_cache else None
        if cached and cached.get("key") == key:
            return ThresholdReport.from_dict(cached["report"])
        manifest, folder = find_manifest(str(record.config.get("dataset_version", "")), root)
        if list(manifest.classes) != list(classifier.labels):
            raise ClassifierError(
                f"the dataset's classes {manifest.classes} differ from the model's {list(classifier.labels)}"
            )
        test = load_arrays(manifest, folder, classifier.image_size, root)["test"]
    except (MaskStudioError, OSError) as exc:
        raise ClassifierError(f"the test split of run {run_id} is not available: {exc}") from exc
    if len(test) == 0:
        raise ClassifierError(f"the test split of run {run_id} is empty")
    probs = np.concatenate([classifier.predict(test.x[i : i + 32]) for i in range(0, len(test), 32)])
    from core.data.provenance import load_sources

    paths = [str(p) for p in test.paths] if len(test.paths) == len(test) else [""] * len(test)
    keep, what = photo_faces(paths, list(test.keys), load_sources(folder))
    where = f"{manifest.dataset} {manifest.version}"
    family = str(record.config.get("model") or "")
    check = None if keep else _photo_check(record.path, model_path, list(classifier.labels), family)
    if keep:
        idx = np.asarray(keep)
        report = report_from_probs(probs[idx], test.y[idx], f"{what}, {where}", PHOTO_MIN_COVERAGE)
    elif check is not None:
        why = (
            "the starter's held-out faces cut from photos (this run's dataset has too few; "
            "it warm-started from the starter)"
        )
        report = report_from_probs(check[0], check[1], why, PHOTO_MIN_COVERAGE)
    else:
        why = "the test split (too few faces cut from photos to choose on them)"
        report = report_from_probs(probs, test.y, f"{why}, {where}", MIN_COVERAGE)
    try:
        atomic_write_json(cache, {"key": key, "report": report.to_dict()})
    except OSError:
        pass  # the curve is still shown; it is only recomputed next time
    return report


def _photo_check(
    run_dir: Path, model_path: Path, labels: list[str], family: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """(probabilities, true classes) of the run's model (of pretrained `family`) on the starter's
    held-out photo faces it was given (core.runs.memory.PHOTO_CHECK_FILE), or None when it has
    none or they do not fit."""
    from core.runs.memory import PHOTO_CHECK_FILE, load_memory
    from models.registry import MODELS

    check = load_memory(run_dir / PHOTO_CHECK_FILE)
    spec = MODELS.get(family)
    backbone = spec.backbone if spec is not None else None
    if (
        check is None
        or backbone is None
        or len(check.check_y) < PHOTO_MIN_FACES
        or list(check.labels) != labels
    ):
        return None
    try:
        from core.vision.model_files import load_model_file

        head = backbone.head_model(load_model_file(model_path))
        probs = head.predict(check.check_feats, verbose=0, batch_size=256)
    except Exception:  # noqa: BLE001 - not a model of that family and width: no check set
        return None
    return np.asarray(probs, np.float64), check.check_y
