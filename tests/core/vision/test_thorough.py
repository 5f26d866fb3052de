"""core.vision.thorough: the mirrored and tiled passes mapped back to original pixels, their NMS
merge, the option checks (with a stand-in detector that finds bright squares), then a real scene."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import DetectorError
from core.vision.detections import Detection
from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector
from core.vision.thorough import THOROUGH, ThoroughDetector, merge_passes, mirror


class SquareFinder:
    """Finds every bright blob of a frame, as a box in that frame's pixels.

    `min_share`: blobs narrower than this share of the frame's width are missed (as a detector
    misses faces too small for its canvas); `right_half_only`: blobs left of the middle are
    missed (a detector that sees a face in one view only). `frames` records each frame's shape.
    """

    name = "squares"

    def __init__(self, min_share: float = 0.0, right_half_only: bool = False, score: float = 0.9) -> None:
        self.min_share = min_share
        self.right_half_only = right_half_only
        self.score = score
        self.frames: list[tuple[int, ...]] = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.frames.append(image.shape)
        width = image.shape[1]
        n, _, stats, _ = cv2.connectedComponentsWithStats((image[:, :, 0] > 200).astype(np.uint8))
        found = []
        for x, y, w, h, _ in stats[1:n].tolist():
            if w < self.min_share * width or (self.right_half_only and x < width / 2):
                continue
            found.append(Detection(float(x), float(y), float(x + w), float(y + h), self.score))
        return found


def photo(width: int, height: int, *squares: tuple[int, int, int, int]) -> np.ndarray:
    """A black RGB frame with white xyxy squares."""
    frame = np.zeros((height, width, 3), np.uint8)
    for x1, y1, x2, y2 in squares:
        frame[y1:y2, x1:x2] = 255
    return frame


def boxes(found: list[Detection]) -> list[tuple[float, ...]]:
    return sorted(d.xyxy for d in found)


def test_mirror_maps_boxes_back_and_twice_is_the_identity() -> None:
    found = [Detection(10, 20, 30, 40, 0.9), Detection(0, 0, 100, 5, 0.5)]
    assert mirror(found, 100) == [Detection(70, 20, 90, 40, 0.9), Detection(0, 0, 100, 5, 0.5)]
    assert mirror(mirror(found, 100), 100) == found
    assert mirror([], 100) == []


def test_a_face_seen_only_in_the_mirrored_pass_comes_back_where_it_is() -> None:
    base = SquareFinder(right_half_only=True)
    det = ThoroughDetector(base, flip=True)
    frame = photo(100, 80, (10, 20, 30, 40))  # left half: the photo pass misses it
    passes = det.passes(frame)
    assert base.frames == [(80, 100, 3), (80, 100, 3)]  # one pass each way, whole frames
    assert passes["photo"] == []
    assert boxes(passes["mirrored"]) == [(10.0, 20.0, 30.0, 40.0)]
    assert boxes(det.detect(frame)) == [(10.0, 20.0, 30.0, 40.0)]


def test_a_face_both_passes_see_is_kept_once() -> None:
    det = ThoroughDetector(SquareFinder(), flip=True)
    frame = photo(120, 90, (10, 20, 30, 40), (70, 10, 110, 60))
    passes = det.passes(frame)
    assert boxes(passes["photo"]) == boxes(passes["mirrored"]) == [(10, 20, 30, 40), (70, 10, 110, 60)]
    assert boxes(det.detect(frame)) == [(10, 20, 30, 40), (70, 10, 110, 60)]


def test_tiles_find_small_faces_and_map_them_back() -> None:
    # 200x160 photo, 2x2 tiles of 120x96 at x 0|80, y 0|64. A 10 px square is 5% of the photo's
    # width (missed) but 8.3% of a tile's (found).
    base = SquareFinder(min_share=0.07)
    det = ThoroughDetector(base, flip=False, zoom=2)
    assert det.tile_boxes(200, 160) == [
        (0, 0, 120, 96),
        (80, 0, 200, 96),
        (0, 64, 120, 160),
        (80, 64, 200, 160),
    ]
    frame = photo(200, 160, (20, 30, 30, 40), (150, 120, 160, 130), (95, 70, 105, 80))
    passes = det.passes(frame)
    assert base.frames[1:] == [(96, 120, 3)] * 4
    assert passes["photo"] == []
    # the middle square lies whole in all four tiles: found four times, kept once
    assert len(passes["tiles"]) == 6
    assert boxes(det.detect(frame)) == [(20, 30, 30, 40), (95, 70, 105, 80), (150, 120, 160, 130)]


def test_a_face_cut_by_a_tile_edge_is_taken_from_the_tile_that_holds_it_whole() -> None:
    det = ThoroughDetector(SquareFinder(min_share=0.07), flip=False, zoom=2)
    frame = photo(200, 160, (108, 30, 124, 42))  # crosses the first tile's right edge at x = 120
    tiles = det.passes(frame)["tiles"]
    assert boxes(tiles) == [(108, 30, 124, 42)]  # from the second tile only, not the cut 108..120


def test_flip_and_tiles_together() -> None:
    det = ThoroughDetector(SquareFinder(min_share=0.07, right_half_only=True), flip=True, zoom=2)
    frame = photo(200, 160, (70, 30, 80, 40))
    passes = det.passes(frame)
    assert list(passes) == ["photo", "mirrored", "tiles"]
    assert passes["photo"] == passes["mirrored"] == []  # too small for the whole-photo canvas
    assert boxes(det.detect(frame)) == [(70, 30, 80, 40)]  # in the first tile's right half


@pytest.mark.parametrize(
    ("size", "zoom", "expected"),
    [
        ((400, 300), 2, [(0, 0, 240, 180), (160, 0, 400, 180), (0, 120, 240, 300), (160, 120, 400, 300)]),
        # 3x3 tiles of 130x43 (1/3 + 0.1 of each side), evenly spaced
        ((300, 100), 3, [(x, y, x + 130, y + 43) for y in (0, 28, 57) for x in (0, 85, 170)]),
        ((20, 20), 2, []),  # 12 px tiles: not worth a pass
    ],
)
def test_tile_boxes_cover_the_photo(size: tuple[int, int], zoom: int, expected: list) -> None:
    tiles = ThoroughDetector(SquareFinder(), flip=False, zoom=zoom).tile_boxes(*size)
    assert tiles == expected
    if expected:
        covered = np.zeros(size[::-1], bool)
        for x1, y1, x2, y2 in tiles:
            covered[y1:y2, x1:x2] = True
        assert covered.all()


def test_a_photo_too_small_to_tile_gets_the_whole_photo_pass_only() -> None:
    base = SquareFinder()
    det = ThoroughDetector(base, flip=False, zoom=2)
    assert boxes(det.detect(photo(20, 20, (5, 5, 15, 15)))) == [(5, 5, 15, 15)]
    assert len(base.frames) == 1


@pytest.mark.parametrize(
    ("passes", "merge_iou", "expected"),
    [
        ([], 0.3, []),
        ([[], []], 0.3, []),
        # the same face in two passes: the better-scored box stays
        (
            [[Detection(0, 0, 10, 10, 0.5)], [Detection(1, 0, 11, 10, 0.8)]],
            0.3,
            [Detection(1, 0, 11, 10, 0.8)],
        ),
        # two faces: both stay, best score first
        (
            [[Detection(0, 0, 10, 10, 0.5)], [Detection(50, 0, 60, 10, 0.8)]],
            0.3,
            [Detection(50, 0, 60, 10, 0.8), Detection(0, 0, 10, 10, 0.5)],
        ),
        # IoU 1/3 (5 px of 15): over 0.3 merges, not over 0.5
        (
            [[Detection(0, 0, 10, 10, 0.9)], [Detection(5, 0, 15, 10, 0.6)]],
            0.3,
            [Detection(0, 0, 10, 10, 0.9)],
        ),
        (
            [[Detection(0, 0, 10, 10, 0.9)], [Detection(5, 0, 15, 10, 0.6)]],
            0.5,
            [Detection(0, 0, 10, 10, 0.9), Detection(5, 0, 15, 10, 0.6)],
        ),
    ],
)
def test_merge_passes(passes: list, merge_iou: float, expected: list) -> None:
    assert merge_passes(passes, merge_iou) == expected


@pytest.mark.parametrize(
    "options",
    [
        {"zoom": 0},
        {"zoom": 5},
        {"zoom": 1.5},
        {"zoom": True},
        {"flip": False, "zoom": 1},  # no second pass
        {"merge_iou": 0.0},
        {"merge_iou": 1.5},
        {"tile_overlap": -0.1},
        {"tile_overlap": 0.6},
    ],
)
def test_bad_options_raise_detector_error(options: dict) -> None:
    with pytest.raises(DetectorError):
        ThoroughDetector(SquareFinder(), **options)
    with pytest.raises(DetectorError):
        get_detector(THOROUGH, **options)


def test_bad_bases_and_frames_raise_detector_error() -> None:
    with pytest.raises(DetectorError, match="base"):
        ThoroughDetector(object())
    det = ThoroughDetector(SquareFinder(), zoom=2)
    for frame in (
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((4, 4, 2), np.uint8),
    ):
        with pytest.raises(DetectorError):
            det.detect(frame)
    for options in ({"score_threshold": 1.5}, {"no_such_option": 1}):
        with pytest.raises(DetectorError):
            get_detector(THOROUGH, **options)


def test_the_registered_detector_runs_centerface_on_the_photo_and_its_mirror() -> None:
    det = get_detector(THOROUGH)
    assert isinstance(det, ThoroughDetector) and det.name == THOROUGH
    assert det.base is get_detector("centerface", score_threshold=det.base.score_threshold)
    assert det.flip and det.zoom == 1
    assert get_detector(THOROUGH, zoom=2) is not det and get_detector(THOROUGH, zoom=2).zoom == 2


def test_it_finds_more_faces_than_the_default_on_a_real_scene(shared_data: Path) -> None:
    from benchmarks.faces import load_voc
    from core.geometry import match_boxes
    from core.imaging import load_rgb_array

    voc = shared_data / "face_mask_detection_voc"
    image = load_rgb_array(voc / "images" / "maksssksksss206.jpg")  # 8 faces, several tiny
    truths = [b for _, b in load_voc(voc / "annotations" / "maksssksksss206.xml")]
    default = match_boxes(get_detector(DEFAULT_PREDICT_DETECTOR).detect(image), truths)
    thorough_found = get_detector(THOROUGH).detect(image)
    assert [d.score for d in thorough_found] == sorted((d.score for d in thorough_found), reverse=True)
    h, w = image.shape[:2]
    assert all(0 <= d.x1 < d.x2 <= w and 0 <= d.y1 < d.y2 <= h for d in thorough_found)
    thorough = match_boxes(thorough_found, truths)
    assert thorough.matched >= default.matched
    assert thorough.matched > default.matched  # measured: 6 of 8 against 3 (the mirror finds 3 more)
