"""The uncertain threshold: the accuracy/coverage curve, the suggested default, a run's test split."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.errors import ClassifierError
from core.runs.store import run_path
from core.runs.thresholds import (
    CACHE_FILE,
    CurvePoint,
    report_from_probs,
    run_threshold_report,
    suggest_threshold,
    threshold_curve,
)
from tests.core.runs.test_active_model import make_run
from tests.models.synth import CLASSES, make_dataset_version

PROBS = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
TRUTH = np.array([0, 1, 1, 0])  # right, wrong, right, wrong


@pytest.mark.parametrize(
    ("threshold", "coverage", "accuracy", "labelled"),
    [
        (0.0, 1.0, 0.5, 4),
        (0.55, 1.0, 0.5, 4),  # ">=": a face exactly at the threshold keeps its class
        (0.6, 0.75, 2 / 3, 3),
        (0.65, 0.5, 1.0, 2),
        (0.95, 0.0, None, 0),
    ],
)
def test_curve_points(threshold: float, coverage: float, accuracy: float | None, labelled: int) -> None:
    (point,) = threshold_curve(PROBS, TRUTH, [threshold])
    assert point.coverage == pytest.approx(coverage)
    assert point.labelled == labelled
    assert point.accuracy == (None if accuracy is None else pytest.approx(accuracy))


def test_curve_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        threshold_curve(PROBS, TRUTH[:3])
    with pytest.raises(ValueError):
        threshold_curve(PROBS, [0, 1, 2, 0])


def _set(right: list[float], wrong: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Two-class probabilities: faces whose top class is right (truth 0) or wrong (truth 1)."""
    tops = right + wrong
    probs = np.array([[t, 1 - t] for t in tops])
    return probs, np.array([0] * len(right) + [1] * len(wrong))


@pytest.mark.parametrize(
    ("right", "wrong", "threshold", "coverage", "rule"),
    [
        # 80 % right; dropping the 0.55 and 0.9 mistakes keeps 80 % of faces: error 20 % -> 0 %.
        ([0.95] * 8, [0.55, 0.9], 0.91, 0.8, "halves the error"),
        # the mistakes are the most confident faces: no threshold helps while keeping 80 %.
        ([0.6] * 8, [0.99, 0.99], 0.0, 1.0, "no threshold halves"),
        # nothing to fix.
        ([0.7, 0.8, 0.99], [], 0.0, 1.0, "no error"),
        # 75 % right; above 0.6 the three unsure mistakes go: 12 of 13 right, 13 of 16 labelled.
        ([0.97] * 9 + [0.7] * 3, [0.6, 0.6, 0.6, 0.98], 0.61, 13 / 16, "halves the error"),
    ],
)
def test_suggestion_rule(right: list, wrong: list, threshold: float, coverage: float, rule: str) -> None:
    probs, truth = _set(right, wrong)
    s = suggest_threshold(threshold_curve(probs, truth))
    assert s.threshold == pytest.approx(threshold)
    assert s.coverage == pytest.approx(coverage)
    assert rule in s.rule


def test_suggestion_on_no_faces() -> None:
    s = report_from_probs(np.zeros((0, 2)), np.zeros(0, int)).suggestion
    assert s.accuracy is None and s.threshold == 0.0
    with pytest.raises(ValueError):
        suggest_threshold([])
    assert suggest_threshold([CurvePoint(0.3, 1.0, 1.0, 4, 4)]).threshold == 0.3


class BrightSide:
    """A stand-in classifier: "dot_left" when the left half is brighter, confidence by contrast."""

    labels = CLASSES
    image_size = 32
    backend = "fake"

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        x = np.asarray(x, np.float64)
        left, right = x[:, :, :16].mean(axis=(1, 2, 3)), x[:, :, 16:].mean(axis=(1, 2, 3))
        p_left = 1 / (1 + np.exp(-(left - right) / 10))
        return np.stack([p_left, 1 - p_left], axis=1)


def test_run_report_on_the_test_split_is_cached_per_model_file(workspace: Path) -> None:
    version = make_dataset_version(workspace, per_split=(2, 2, 6))
    run_id = make_run(workspace, dataset_version=version, labels=CLASSES)
    fake = BrightSide()
    report = run_threshold_report(fake, run_id)
    assert report.faces == 12
    assert report.points[0].accuracy == 1.0
    assert "the test split" in report.source and "synth" in report.source  # too few photo faces
    assert (run_path(run_id, workspace) / CACHE_FILE).is_file()
    calls = fake.calls
    assert run_threshold_report(fake, run_id).to_dict() == report.to_dict()
    assert fake.calls == calls  # read from the run folder
    model = run_path(run_id, workspace) / "best.keras"
    os.utime(model, (model.stat().st_atime, model.stat().st_mtime + 10))
    run_threshold_report(fake, run_id)
    assert fake.calls > calls  # a new model file: computed again


def test_run_report_needs_the_dataset_and_matching_classes(workspace: Path) -> None:
    missing = make_run(workspace, dataset_version="000000000000", labels=CLASSES)
    with pytest.raises(ClassifierError, match="not available"):
        run_threshold_report(BrightSide(), missing)
    version = make_dataset_version(workspace, per_split=(1, 1, 1))
    other = make_run(workspace, dataset_version=version, labels=CLASSES)
    wrong = BrightSide()
    wrong.labels = ("a", "b")
    with pytest.raises(ClassifierError, match="differ"):
        run_threshold_report(wrong, other)


def test_curve_window_frames_where_the_curves_move() -> None:
    """Issue 12: the chart showed 0..1 while the curves only moved between 0.5 and 0.9 near 1.0."""
    from core.runs.thresholds import CurvePoint, curve_window

    pts = [
        CurvePoint(t / 100, 1.0 if t < 50 else (0.97 if t < 90 else 0.9), 0.95 if t < 50 else 0.99, 10, 9)
        for t in range(0, 100)
    ]
    lo, hi, y_lo = curve_window(pts)
    assert 0.4 <= lo < 0.5 and 0.89 < hi <= 0.99
    assert 0.85 <= y_lo < 0.9


def test_plain_summary_says_what_the_threshold_does() -> None:
    from core.runs.thresholds import Suggestion, plain_summary

    text = plain_summary(Suggestion(0.85, 0.93, 0.981, 0.952, 0.976, "rule"))
    assert (
        "**0.85**" in text and "uncertain" in text and "93%" in text and "98.1%" in text and "95.2%" in text
    )


@pytest.mark.parametrize(
    ("sources", "framed", "expected", "words"),
    [
        ({}, 0, 0, ""),  # no provenance: the whole split
        ({"voc:v": 40}, 0, 40, "cut from photos (labelled boxes)"),
        ({"voc:v": 40}, 30, 30, "by the face detector"),
        ({"voc:v": 40}, 29, 40, "labelled boxes"),  # too few framed ones: every photo face
        ({"project:p": 30, "folder:f": 50}, 0, 30, "labelled boxes"),
        ({"voc:v": 29, "folder:f": 50}, 0, 0, ""),  # too few photo faces: the crop rule
    ],
)
def test_photo_faces_prefers_detector_framed_faces_cut_from_photos(
    sources: dict[str, int], framed: int, expected: int, words: str
) -> None:
    from core.runs.thresholds import photo_faces

    paths, keys, records = [], [], {}
    for source, n in sources.items():
        for i in range(n):
            key = f"{source}-{i}"
            det = source.startswith("voc:") and i < framed
            paths.append(f"with_mask/photo{i}_{'det_' if det else ''}{i}.png")
            keys.append(key)
            records[key] = {"source": source}
    keep, what = photo_faces(paths, keys, records)
    assert len(keep) == expected and words in what


def test_run_report_chooses_on_photo_faces_with_the_photo_rule(workspace: Path) -> None:
    import json

    from core.data.manifest import find_manifest
    from core.runs.thresholds import PHOTO_MIN_COVERAGE

    version = make_dataset_version(workspace, per_split=(2, 2, 16))
    manifest, folder = find_manifest(version, workspace)
    records = {f.sha256: {"source": "voc:scenes", "photo": "p.png"} for f in manifest.split_files("test")}
    (folder / ".sources.json").write_text(json.dumps(records), encoding="utf-8")
    run_id = make_run(workspace, dataset_version=version, labels=CLASSES)
    report = run_threshold_report(BrightSide(), run_id)
    assert report.faces == 32 and "cut from photos" in report.source
    assert report.suggestion.coverage >= PHOTO_MIN_COVERAGE
