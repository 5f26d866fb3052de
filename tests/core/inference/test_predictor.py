"""The Predict pipeline: crops, one batch per frame, uncertain faces, the adaptive detector,
the results table."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.annotation.annotations import Box
from core.data.build import png_bytes
from core.imaging import load_image, resize_square, square_crop
from core.inference.predictor import (
    FACE,
    UNCERTAIN,
    Face,
    FrameResult,
    Predictor,
    check_threshold,
    crop_faces,
    result_rows,
)
from tests.core.vision.test_detectors import FixedDetector

LABELS = ("with_mask", "without_mask")


class TableModel:
    """A stand-in classifier: row i of `rows` for the i-th crop of a batch; records batch sizes."""

    labels = LABELS
    image_size = 24

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = np.array(rows, np.float32)
        self.batches: list[int] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        assert x.shape[1:] == (24, 24, 3) and x.dtype == np.uint8
        self.batches.append(len(x))
        return self.rows[: len(x)]


def frame(w: int = 160, h: int = 120, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


BOXES = [(10, 10, 50, 60, 0.9), (80, 20, 120, 70, 0.8), (100, 60, 150, 110, 0.7)]


def test_faces_are_labelled_in_one_batch_and_uncertain_under_the_threshold() -> None:
    model = TableModel([[0.95, 0.05], [0.2, 0.8], [0.55, 0.45]])
    det = FixedDetector(BOXES)
    result = Predictor(det, model, threshold=0.6).run(frame())
    assert model.batches == [3]  # every face of the frame in one call
    assert [f.label for f in result.faces] == ["with_mask", "without_mask", UNCERTAIN]
    assert [f.top_label for f in result.faces] == ["with_mask", "without_mask", "with_mask"]
    assert result.faces[2].confidence == pytest.approx(0.55)
    assert result.faces[1].probs == pytest.approx({"with_mask": 0.2, "without_mask": 0.8})
    assert result.faces[0].xyxy == (10, 10, 50, 60) and result.faces[0].detector_score == pytest.approx(0.9)
    assert result.counts() == {"with_mask": 1, "without_mask": 1, UNCERTAIN: 1}
    assert (result.width, result.height) == (160, 120) and result.total_ms >= 0
    relabelled = result.with_threshold(0.5)
    assert [f.label for f in relabelled.faces] == ["with_mask", "without_mask", "with_mask"]
    assert [f.label for f in result.with_threshold(0.99).faces] == [UNCERTAIN] * 3


@pytest.mark.parametrize(
    ("threshold", "label"), [(0.0, "with_mask"), (0.7, "with_mask"), (0.7001, UNCERTAIN)]
)
def test_threshold_edges(threshold: float, label: str) -> None:
    face = Predictor(FixedDetector(BOXES[:1]), TableModel([[0.7, 0.3]]), threshold).predict(frame())[0]
    assert face.label == label


def test_bad_thresholds_are_refused() -> None:
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError):
            check_threshold(bad)


def test_no_face_means_no_model_call() -> None:
    model = TableModel([[1.0, 0.0]])
    assert Predictor(FixedDetector([]), model).predict(frame()) == []
    assert model.batches == [] or model.batches == [0]


def test_detector_only_mode_labels_faces() -> None:
    faces = Predictor(FixedDetector(BOXES[:2]), None).predict(frame())
    assert [f.label for f in faces] == [FACE, FACE]
    assert faces[0].confidence == pytest.approx(0.9) and faces[0].probs == {}
    assert faces[0].with_threshold(0.99).label == FACE


def test_classify_boxes_skips_the_detector() -> None:
    det, model = FixedDetector(BOXES), TableModel([[0.1, 0.9], [0.8, 0.2]])
    faces = Predictor(det, model, 0.5).classify_boxes(frame(), [Box(10, 10, 50, 60), (0, 0, 30, 30)])
    assert det.calls == 0 and model.batches == [2]
    assert [f.label for f in faces] == ["without_mask", "with_mask"]


def test_crops_are_the_dataset_builders_crops() -> None:
    """A face reaches the model exactly as its dataset crop would: square_crop at 240 px, saved
    as PNG, decoded and resized by the training pipeline."""
    img = frame(300, 200, seed=3)
    boxes = [(20.4, 30.2, 80.9, 110.5), (250, 150, 320, 230)]  # the second leaves the image
    got = crop_faces(img, boxes, 96)
    for crop, box in zip(got, boxes, strict=True):
        as_trained = resize_square(load_image(png_bytes(square_crop(img, box, 240))), 96)
        np.testing.assert_array_equal(crop, as_trained)
    assert crop_faces(img, [], 96).shape == (0, 96, 96, 3)
    np.testing.assert_array_equal(crop_faces(img, boxes[:1], 240)[0], square_crop(img, boxes[0], 240))


# ----- results table ----------------------------------------------------------------------------
def test_result_rows_have_one_row_per_face_and_say_no_face() -> None:
    faces = (Face(1, 2, 3, 4, "with_mask", 0.9, {"with_mask": 0.9, "without_mask": 0.1}, 0.8),)
    rows = result_rows(
        [("a.jpg", FrameResult(faces, 10, 10, 1, 1)), ("b.jpg", FrameResult((), 10, 10, 1, 0))], LABELS
    )
    assert rows[0]["image"] == "a.jpg" and rows[0]["label"] == "with_mask"
    assert rows[0]["p_without_mask"] == pytest.approx(0.1)
    assert rows[1] == {"image": "b.jpg", "face": 0, "label": "(no face)"}


def test_a_result_scaled_to_another_frame_size_moves_and_clips_its_boxes() -> None:
    result = Predictor(FixedDetector(BOXES[:2]), None).run(frame())  # 160 x 120
    big = result.scaled_to(1600, 1200)
    assert (big.width, big.height) == (1600, 1200)
    assert [f.xyxy for f in big.faces] == [(100, 100, 500, 600), (800, 200, 1200, 700)]
    assert [f.label for f in big.faces] == [f.label for f in result.faces]
    assert result.scaled_to(160, 120) is result
    odd = replace(result, faces=(replace(result.faces[0], x2=170.0),))
    assert odd.scaled_to(80, 60).faces[0].x2 == 80  # clipped to the new frame
