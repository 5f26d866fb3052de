"""core.vision.detections: the Detection record, frame checking (as_rgb_frame), BoxAdjust and
the clipping every detector's boxes go through."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.errors import DetectorError, MaskStudioError
from core.vision.detections import BoxAdjust, Detection, as_rgb_frame, clip_detections, finish_detections

Box = tuple[float, float, float, float]


@pytest.mark.parametrize(
    ("adjust", "box", "expected"),
    [
        (BoxAdjust(), (10, 20, 30, 60), (10, 20, 30, 60)),
        (BoxAdjust(shift_y=0.25), (10, 20, 30, 60), (10, 30, 30, 70)),
        (BoxAdjust(shift_x=-0.5), (10, 20, 30, 60), (0, 20, 20, 60)),
        (BoxAdjust(scale_w=2.0, scale_h=0.5), (10, 20, 30, 60), (0, 30, 40, 50)),
        (BoxAdjust(shift_y=0.1, scale_h=0.5), (0, 0, 10, 10), (0, 3.5, 10, 8.5)),
    ],
    ids=["identity", "down", "left", "scale", "shift-then-scale"],
)
def test_box_adjust(adjust: BoxAdjust, box: Box, expected: Box) -> None:
    np.testing.assert_allclose(adjust.apply(np.array([box])), [expected])
    assert adjust.apply(np.zeros((0, 4))).shape == (0, 4)


@pytest.mark.parametrize(
    "kwargs", [{"scale_w": 0.0}, {"scale_h": -1.0}, {"shift_y": float("nan")}, {"shift_x": float("inf")}]
)
def test_bad_box_adjust_raises(kwargs: dict) -> None:
    with pytest.raises(DetectorError):
        BoxAdjust(**kwargs)


def test_detection_xyxy() -> None:
    assert Detection(1.0, 2.0, 3.0, 4.0, 0.9).xyxy == (1.0, 2.0, 3.0, 4.0)


def test_a_detection_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Detection(1.0, 2.0, 3.0, 4.0, 0.9).score = 0.1


def test_box_adjust_takes_one_flat_box() -> None:
    np.testing.assert_allclose(BoxAdjust(shift_x=0.5).apply([0, 0, 10, 10]), [[5, 0, 15, 10]])


def test_an_rgb_frame_comes_back_unchanged_and_contiguous() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(as_rgb_frame(frame), frame)
    strided = frame[:, ::2]  # a view with gaps between its columns
    out = as_rgb_frame(strided)
    assert out.flags.c_contiguous and not strided.flags.c_contiguous
    np.testing.assert_array_equal(out, strided)


def test_grey_frames_get_three_equal_channels_and_rgba_loses_its_alpha() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rgb = as_rgb_frame(grey)
    assert rgb.shape == (3, 4, 3)
    assert all(np.array_equal(rgb[:, :, c], grey) for c in range(3))
    rgba = np.zeros((3, 4, 4), dtype=np.uint8)
    rgba[:, :, 0], rgba[:, :, 3] = 200, 255
    out = as_rgb_frame(rgba)
    assert out.shape == (3, 4, 3) and out[:, :, 0].min() == 200 and out[:, :, 1:].max() == 0


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4, 3), dtype=np.int64),
        [[1, 2], [3, 4]],  # a list becomes int64, not uint8
        np.zeros((0, 4, 3), dtype=np.uint8),
        np.zeros((4, 0), dtype=np.uint8),
        np.zeros((4, 4, 2), dtype=np.uint8),
        np.zeros((4, 4, 5), dtype=np.uint8),
        np.zeros(12, dtype=np.uint8),
        np.zeros((2, 4, 4, 3), dtype=np.uint8),
    ],
    ids=["float", "int64", "list", "no-rows", "no-columns", "two-channel", "five-channel", "1d", "4d"],
)
def test_anything_but_an_image_frame_raises_detector_error(frame: object) -> None:
    with pytest.raises(DetectorError, match="a frame must be") as caught:
        as_rgb_frame(frame)
    assert isinstance(caught.value, MaskStudioError)


def test_clipping_keeps_boxes_inside_the_image_best_score_first() -> None:
    boxes = np.array(
        [
            [-5.0, -5.0, 10.0, 10.0],  # sticks out top-left: clipped
            [90.0, 40.0, 120.0, 70.0],  # sticks out right and bottom: clipped
            [20.0, 20.0, 30.0, 30.0],  # inside: kept as it is
        ]
    )
    dets = clip_detections(boxes, np.array([0.5, 0.9, 0.7]), width=100, height=60)
    assert [d.xyxy for d in dets] == [
        (90.0, 40.0, 100.0, 60.0),
        (20.0, 20.0, 30.0, 30.0),
        (0.0, 0.0, 10.0, 10.0),
    ]
    assert [d.score for d in dets] == [0.9, 0.7, 0.5]
    assert all(type(d.score) is float for d in dets)


@pytest.mark.parametrize(
    "box",
    [
        (120.0, 10.0, 150.0, 30.0),  # right of the image
        (10.0, -40.0, 30.0, -10.0),  # above it
        (10.0, 10.0, 10.5, 30.0),  # under a pixel wide
        (10.0, 59.5, 30.0, 80.0),  # under a pixel tall once clipped
        (30.0, 10.0, 10.0, 30.0),  # x2 before x1
    ],
)
def test_boxes_left_empty_are_dropped(box: Box) -> None:
    assert clip_detections(np.array([box]), np.array([0.9]), width=100, height=60) == []


def test_no_boxes_give_no_detections() -> None:
    assert clip_detections(np.zeros((0, 4)), np.zeros(0), 100, 60) == []
    assert finish_detections(np.zeros((0, 4)), np.zeros(0), 100, 60, BoxAdjust(shift_y=0.5)) == []


def test_finishing_adjusts_the_boxes_before_clipping_them() -> None:
    boxes, scores = np.array([[10.0, 40.0, 30.0, 60.0]]), np.array([0.8])
    assert finish_detections(boxes, scores, 100, 60, None) == clip_detections(boxes, scores, 100, 60)
    moved = finish_detections(boxes, scores, 100, 60, BoxAdjust(shift_y=0.25))
    assert [d.xyxy for d in moved] == [(10.0, 45.0, 30.0, 60.0)]  # 45..65, clipped at the bottom
