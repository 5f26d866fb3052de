"""core.inference.scene_scores: each labelled face gets exactly one outcome and the report adds
them up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.inference.predictor import UNCERTAIN, Face
from core.inference.scene_scores import (
    IGNORED,
    MISSED,
    RIGHT,
    UNCERTAIN_OUTCOME,
    WRONG,
    build_report,
    score_photo,
)
from core.inference.scene_sets import Scene, SceneFace, default_mapping

LABELS = ("with_mask", "without_mask")


def face(xyxy, label="with_mask", conf=0.9) -> Face:
    return Face(*xyxy, label=label, confidence=conf, probs={label: conf})


# ----- matching and counting ---------------------------------------------------------
def test_each_outcome_is_counted_once() -> None:
    scene = Scene(
        "a.png",
        Path("a.png"),
        (
            SceneFace("with_mask", (0, 0, 20, 20)),  # right
            SceneFace("with_mask", (40, 0, 60, 20)),  # wrong
            SceneFace("without_mask", (80, 0, 100, 20)),  # uncertain
            SceneFace("without_mask", (120, 0, 140, 20)),  # missed
            SceneFace("None", (160, 0, 180, 20)),  # ignored (found, but no class)
        ),
    )
    faces = [
        face((0, 0, 20, 20), "with_mask"),
        face((41, 0, 61, 20), "without_mask"),
        face((80, 1, 100, 21), UNCERTAIN, 0.5),
        face((160, 0, 180, 20), "with_mask"),
        face((300, 300, 320, 320), "with_mask"),  # false detection
    ]
    mapping = default_mapping(["with_mask", "without_mask", "None"], LABELS)
    photo = score_photo(scene, faces, mapping)
    assert [t.outcome for t in photo.truths] == [RIGHT, WRONG, UNCERTAIN_OUTCOME, MISSED, IGNORED]
    assert photo.false == (4,) and photo.errors == 4
    report = build_report([photo], LABELS, 0.7, "fake")
    wm, wo = report.per_class["with_mask"], report.per_class["without_mask"]
    assert (wm.faces, wm.right, wm.wrong, wm.found_and_right) == (2, 1, 1, 0.5)
    assert (wo.faces, wo.uncertain, wo.missed, wo.found_and_right) == (2, 1, 1, 0.0)
    assert report.false_detections == 1 and report.detections == 5
    assert report.detector_recall == pytest.approx(4 / 5)  # the None face was found too
    assert report.detector_precision == pytest.approx(4 / 5)
    assert report.accuracy_on_found == pytest.approx(1 / 3)
    assert report.accuracy_on_decided == pytest.approx(1 / 2)
    assert [p.name for p in report.worst_photos()] == ["a.png"]
    data = report.to_dict()
    assert data["found_and_right"] == {"with_mask": 0.5, "without_mask": 0.0}
    json.dumps(data)


def test_a_class_mapped_to_nothing_is_left_out_not_false() -> None:
    scene = Scene("a", Path("a"), (SceneFace("hat", (0, 0, 20, 20)), SceneFace("with_mask", (40, 0, 60, 20))))
    photo = score_photo(scene, [face((0, 0, 20, 20))], {"hat": None, "with_mask": "with_mask"})
    assert [t.outcome for t in photo.truths] == [IGNORED, MISSED]
    assert photo.false == ()
