"""benchmarks.active_sim: the miss count, the lift, the queue order and the reviewed VOC folder
that benchmarks/active.py simulates the review loop with (no models: arrays made here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.active_sim import Pool, Setting, lift, misses, queue_order, reviewed_voc, spread
from tests.images import image_bytes

LABELS = ("with_mask", "without_mask")


def _pool(truth: list[str | None], det: list[float], features: np.ndarray, scene: str = "a.png") -> Pool:
    n = len(truth)
    return Pool(
        scene=[scene] * n,
        xyxy=[(float(i), 0.0, float(i) + 10, 10.0) for i in range(n)],
        det_score=np.asarray(det),
        truth=truth,
        crops=np.zeros((n, 4, 4, 3), np.uint8),
        features=features,
        sizes={scene: (40, 20)},
        paths={},
        detect_s=0.0,
    )


def test_misses_count_wrong_and_uncertain_and_skip_false_detections() -> None:
    pool = _pool(["with_mask", "with_mask", "without_mask", None], [0.9] * 4, np.eye(4))
    probs = np.array([[0.95, 0.05], [0.55, 0.45], [0.9, 0.1], [0.5, 0.5]])
    m = misses(pool, probs, LABELS, threshold=0.6)
    assert list(m[:3]) == [0.0, 1.0, 1.0]  # right; uncertain (0.55 < 0.6); wrong class
    assert np.isnan(m[3])


def test_lift_is_the_head_miss_rate_over_the_overall_one() -> None:
    miss = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    idx = np.arange(10)
    best = lift([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], miss, idx)  # the two misses first
    assert best["head_miss_rate"] == 1.0 and best["overall_miss_rate"] == 0.2
    assert best["lift"] == pytest.approx(5.0)
    worst = lift([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], miss, idx)
    assert worst["lift"] == 0.0
    assert lift([0, 1], np.zeros(2), np.arange(2))["lift"] is None  # no miss at all


def test_queue_order_puts_the_unsure_faces_first_and_collapses_duplicates() -> None:
    feats = np.eye(6, dtype=np.float32)
    feats[5] = feats[4]  # face 5 duplicates face 4
    pool = _pool(["with_mask"] * 6, [0.95] * 6, feats)
    probs = np.array([[0.99, 0.01], [0.52, 0.48], [0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.6, 0.4]])
    order, randoms = queue_order(
        pool, np.arange(6), probs, LABELS, Setting("margin", 0.0, 0.0), seed=0, share=0.0
    )
    assert order[:2] == [1, 4] and 5 not in order and randoms == set()
    assert set(order) == {0, 1, 2, 3, 4}


def test_reviewed_voc_writes_the_labelled_faces_and_counts_not_a_face(tmp_path: Path) -> None:
    photo = tmp_path / "a.png"
    photo.write_bytes(image_bytes((40, 20)))
    pool = _pool(["with_mask", None, "without_mask"], [0.9] * 3, np.eye(3))
    pool.paths = {"a.png": photo}
    folder, counts = reviewed_voc(pool, [0, 1, 2], tmp_path / "voc")
    assert counts == {"with_mask": 1, "not_a_face": 1, "without_mask": 1}
    xml = (folder / "annotations" / "a.xml").read_text()
    assert xml.count("<object>") == 2 and "<name>without_mask</name>" in xml
    assert (folder / "images" / "a.png").resolve() == photo.resolve()


def test_spread_reports_mean_std_min_max_and_skips_missing() -> None:
    s = spread([0.5, None, 0.7])
    assert s == {"mean": 0.6, "std": pytest.approx(0.1414, abs=1e-4), "min": 0.5, "max": 0.7, "n": 2}
    assert spread([None])["mean"] is None
