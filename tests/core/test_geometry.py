"""core.geometry: the one box type (XYXY) that every box of core is or holds, IoU of xyxy boxes,
greedy one-to-one matching and non-maximum suppression, table-driven."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from core.annotation.annotations import Box
from core.annotation.formats.common import RawBox
from core.geometry import (
    DEFAULT_MIN_IOU,
    XYXY,
    BoxLike,
    MatchingError,
    as_xyxy_array,
    iou,
    iou_matrix,
    match_boxes,
    precision,
    recall,
    suppress_overlaps,
    total,
    xyxy_floats,
)
from core.inference.predictor import Face
from core.inference.scene_sets import SceneFace
from core.vision.detections import Detection

A = (0.0, 0.0, 10.0, 10.0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (A, A, 1.0),  # identical
        (A, (20, 20, 30, 30), 0.0),  # disjoint
        (A, (10, 0, 20, 10), 0.0),  # touching along an edge
        (A, (10, 10, 20, 20), 0.0),  # touching at a corner
        (A, (2, 2, 7, 7), 25 / 100),  # contained: the small box's area over the big one's
        (A, (5, 0, 15, 10), 50 / 150),  # half overlap sideways
        (A, (5, 5, 15, 15), 25 / 175),  # a quarter of each
        (A, (0, 0, 10, 5), 0.5),  # shares an edge, half the area
        (A, (-5, 2, 15, 8), 60 / 160),  # a cross
        (A, (0, 0, 0, 10), 0.0),  # a zero-width box
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),  # two empty boxes: no union, IoU 0
        ((0.5, 0.5, 1.5, 2.5), (1.0, 0.5, 2.0, 2.5), 1 / 3),  # sub-pixel
    ],
    ids=[
        "identical",
        "disjoint",
        "edge-touch",
        "corner-touch",
        "contained",
        "half-side",
        "quarter",
        "shared-edge",
        "cross",
        "zero-width",
        "both-empty",
        "sub-pixel",
    ],
)
def test_iou(a: tuple, b: tuple, expected: float) -> None:
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)  # symmetric


def test_iou_matrix_shape_and_values() -> None:
    preds = [A, (5, 5, 15, 15), (100, 100, 110, 110)]
    truths = [A, (0, 0, 10, 5)]
    m = iou_matrix(preds, truths)
    assert m.shape == (3, 2)
    np.testing.assert_allclose(m, [[1.0, 0.5], [25 / 175, 0.0], [0.0, 0.0]])
    assert iou_matrix([], truths).shape == (0, 2)
    assert iou_matrix(preds, np.zeros((0, 4))).shape == (3, 0)


def test_iou_matrix_agrees_with_shapely_polygons() -> None:
    import shapely

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (2, 40, 2))
    wh = rng.uniform(0, 80, (2, 40, 2))
    wh[0, :3] = 0.0  # degenerate boxes: IoU 0
    a, b = (np.hstack([xy[k], xy[k] + wh[k]]) for k in range(2))
    pa, pb = shapely.box(*a.T), shapely.box(*b.T)
    inter = shapely.area(shapely.intersection(pa[:, None], pb[None, :]))
    union = shapely.area(pa)[:, None] + shapely.area(pb)[None, :] - inter
    expected = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    got = iou_matrix(a, b)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert (got > 0).any() and (got[:3] == 0).all()


def test_boxes_can_be_detections_annotation_boxes_or_arrays() -> None:
    det = Detection(0.0, 0.0, 10.0, 10.0, 0.9)
    box = Box(0, 0, 10, 5, "with_mask")
    assert iou(det, box) == pytest.approx(0.5)
    np.testing.assert_allclose(as_xyxy_array([det, box]), [[0, 0, 10, 10], [0, 0, 10, 5]])
    assert as_xyxy_array(np.array([[1, 2, 3, 4]], dtype=np.int32)).dtype == np.float64


@dataclass(frozen=True)
class Case:
    preds: list[tuple[float, float, float, float]]
    truths: list[tuple[float, float, float, float]]
    pairs: list[tuple[int, int]]
    min_iou: float = DEFAULT_MIN_IOU


MATCH_CASES = {
    "nothing": Case([], [], []),
    "no-predictions": Case([], [A], []),
    "no-truths": Case([A], [], []),
    "identical": Case([A], [A], [(0, 0)]),
    "disjoint": Case([A], [(20, 20, 30, 30)], []),
    "touching": Case([A], [(10, 0, 20, 10)], []),
    # contained: IoU 0.64 matches, 0.25 does not
    "contained-big-enough": Case([(1, 1, 9, 9)], [A], [(0, 0)]),
    "contained-too-small": Case([(2, 2, 7, 7)], [A], []),
    "exactly-at-threshold": Case([(0, 0, 10, 5)], [A], [(0, 0)]),
    "just-under-threshold": Case([(0, 0, 10, 4.99)], [A], []),
    # one prediction covering two truths matches only one of them (the higher IoU)
    "one-prediction-two-truths": Case([(0, 0, 20, 10)], [A, (8, 0, 20, 10)], [(0, 1)]),
    # two predictions on one truth: the better one matches, the other is a false positive
    "two-predictions-one-truth": Case([(0, 0, 10, 6), (0, 0, 10, 9)], [A], [(1, 0)]),
    # greedy by IoU, not by prediction order: p1 takes t0 (IoU 1.0) although p0 comes first
    # and likes t0 best (0.8); p0 then gets t1 (0.75)
    "highest-iou-first": Case([(0, 0, 10, 8), A], [A, (0, 0, 10, 6)], [(1, 0), (0, 1)]),
    "equal-iou-tie-lowest-index": Case([A, A], [A], [(0, 0)]),
    "two-and-two": Case(
        [(50, 50, 60, 60), (0, 0, 10, 10)], [(1, 1, 11, 11), (49, 50, 59, 60)], [(0, 1), (1, 0)]
    ),
    "lower-threshold": Case([(2, 2, 7, 7)], [A], [(0, 0)], min_iou=0.25),
}


@pytest.mark.parametrize("case", MATCH_CASES.values(), ids=MATCH_CASES.keys())
def test_match_boxes(case: Case) -> None:
    result = match_boxes(case.preds, case.truths, case.min_iou)
    assert sorted((p, t) for p, t, _ in result.pairs) == sorted(case.pairs)
    matched_p = {p for p, _ in case.pairs}
    matched_t = {t for _, t in case.pairs}
    assert result.unmatched_predictions == tuple(i for i in range(len(case.preds)) if i not in matched_p)
    assert result.unmatched_truths == tuple(i for i in range(len(case.truths)) if i not in matched_t)
    assert result.matched_truths == frozenset(matched_t)
    assert (result.matched, result.n_predictions, result.n_truths) == (
        len(case.pairs),
        len(case.preds),
        len(case.truths),
    )
    for p, t, v in result.pairs:
        assert v == pytest.approx(iou(case.preds[p], case.truths[t])) and v >= case.min_iou


def test_pairs_come_highest_iou_first() -> None:
    result = match_boxes([(0, 0, 10, 7), (0, 0, 10, 10)], [(0, 0, 10, 8), (0, 0, 10, 10)])
    assert [round(v, 3) for _, _, v in result.pairs] == [1.0, 0.875]


@pytest.mark.parametrize(
    ("matched", "out_of", "expected"), [(0, 0, None), (0, 4, 0.0), (3, 4, 0.75), (5, 5, 1.0)]
)
def test_recall_and_precision(matched: int, out_of: int, expected: float | None) -> None:
    assert recall(matched, out_of) == expected
    assert precision(matched, out_of) == expected


@pytest.mark.parametrize(("matched", "out_of"), [(5, 4), (-1, 3), (1, -1)])
def test_impossible_counts_raise(matched: int, out_of: int) -> None:
    with pytest.raises(MatchingError):
        recall(matched, out_of)
    with pytest.raises(MatchingError):
        precision(matched, out_of)


def test_result_rates_and_total_over_images() -> None:
    one = match_boxes([A, (50, 50, 60, 60)], [A])  # 1 right, 1 false positive
    two = match_boxes([], [A, (20, 20, 30, 30)])  # 2 missed
    assert (one.recall, one.precision) == (1.0, 0.5)
    assert (two.recall, two.precision) == (0.0, None)
    assert total([one, two]) == (1, 2, 3)
    assert total([]) == (0, 0, 0)


@pytest.mark.parametrize(
    "boxes",
    [
        [(0, 0, 10)],  # three numbers
        [(0, 0, 10, 10), (0, 0, 10)],  # ragged
        [(10, 0, 0, 10)],  # x2 < x1
        [(0, 10, 10, 0)],  # y2 < y1
        [(0, 0, float("nan"), 10)],
        [(0, 0, float("inf"), 10)],
        [("a", 0, 1, 1)],
        np.zeros((2, 5)),
        Detection(0.0, 0.0, 1.0, 1.0, 0.5),  # one box, not a sequence of boxes
    ],
    ids=["three", "ragged", "x-reversed", "y-reversed", "nan", "inf", "text", "five-columns", "not-a-list"],
)
def test_bad_boxes_raise_matching_error(boxes: object) -> None:
    with pytest.raises(MatchingError):
        iou_matrix(boxes, [A])
    with pytest.raises(MatchingError):
        match_boxes([A], boxes)


@pytest.mark.parametrize("min_iou", [0.0, -0.1, 1.5])
def test_bad_threshold_raises(min_iou: float) -> None:
    with pytest.raises(MatchingError):
        match_boxes([A], [A], min_iou)


def test_matching_error_is_a_value_error() -> None:
    assert issubclass(MatchingError, ValueError)


@pytest.mark.parametrize(
    ("boxes", "scores", "max_iou", "expected"),
    [
        ([], [], 0.3, []),
        ([A], [0.5], 0.3, [0]),
        ([A, (1, 0, 11, 10)], [0.5, 0.8], 0.3, [1]),  # the same face twice: the better one stays
        ([A, (20, 0, 30, 10)], [0.5, 0.8], 0.3, [1, 0]),  # two faces, best score first
        ([A, (5, 0, 15, 10)], [0.9, 0.6], 0.3, [0]),  # IoU 1/3 > 0.3: dropped
        ([A, (5, 0, 15, 10)], [0.9, 0.6], 1 / 3, [0, 1]),  # IoU 1/3, not over 1/3: kept
        ([A, A], [0.7, 0.7], 0.5, [0]),  # equal scores: the lower index stays
        # a chain: 1 overlaps 0 and 2, 0 and 2 do not overlap; dropping 1 leaves 2 standing
        ([A, (5, 0, 15, 10), (10, 0, 20, 10)], [0.9, 0.8, 0.7], 0.3, [0, 2]),
        (np.array([A, A], dtype=np.float64), np.array([0.1, 0.2]), 1.0, [1, 0]),  # 1.0: keep all
    ],
)
def test_suppress_overlaps(boxes: object, scores: object, max_iou: float, expected: list[int]) -> None:
    assert suppress_overlaps(boxes, scores, max_iou) == expected


@pytest.mark.parametrize(
    ("boxes", "scores", "max_iou"),
    [
        ([A], [0.5], 0.0),
        ([A], [0.5], 1.5),
        ([A], [0.5, 0.4], 0.3),
        ([A], [float("nan")], 0.3),
        ([(2, 0, 1, 1)], [0.5], 0.3),
    ],
)
def test_suppress_overlaps_rejects_bad_input(boxes: object, scores: object, max_iou: float) -> None:
    with pytest.raises(MatchingError):
        suppress_overlaps(boxes, scores, max_iou)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((1, 2, 3, 4), (1.0, 2.0, 3.0, 4.0)),
        (np.array([0.5, 1, 2, 3.5]), (0.5, 1.0, 2.0, 3.5)),
        ([0, 0, 0, 0], (0.0,) * 4),
    ],
)
def test_xyxy_floats_gives_four_floats(box: object, expected: tuple[float, ...]) -> None:
    out = xyxy_floats(box)
    assert out == expected and all(type(v) is float for v in out)


@pytest.mark.parametrize("box", [(1, 2, 3), (1, 2, 3, 4, 5), ()])
def test_xyxy_floats_refuses_anything_but_four_numbers(box: tuple[int, ...]) -> None:
    with pytest.raises(MatchingError, match="4 numbers"):
        xyxy_floats(box)


# ----- the one box type ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "box",
    [
        (1, 2, 3, 4),
        [1.0, 2.0, 3.0, 4.0],
        np.array([1, 2, 3, 4]),
        XYXY(1, 2, 3, 4),
        Detection(1, 2, 3, 4, 0.9),
    ],
    ids=["tuple", "list", "array", "xyxy", "detection"],
)
def test_xyxy_of_takes_numbers_or_any_box_and_gives_a_plain_float_box(box: BoxLike) -> None:
    out = XYXY.of(box)
    assert type(out) is XYXY and out == XYXY(1.0, 2.0, 3.0, 4.0)
    assert out.xyxy == (1.0, 2.0, 3.0, 4.0) and all(type(v) is float for v in out.xyxy)


@pytest.mark.parametrize(
    ("box", "match"),
    [
        ((1, 2, 3), "4 numbers"),
        ((0, 0, float("nan"), 1), "finite"),
        ((0, 0, 1, float("inf")), "finite"),
        ((3, 0, 1, 1), "x2 >= x1"),
        ((0, 3, 1, 1), "y2 >= y1"),
        (XYXY(3, 0, 1, 1), "x2 >= x1"),  # the plain constructor checks nothing; `of` does
    ],
)
def test_xyxy_of_refuses_what_is_not_a_box(box: BoxLike, match: str) -> None:
    with pytest.raises(MatchingError, match=match):
        XYXY.of(box)


def test_xyxy_measures_rounds_scales_shifts_and_clips() -> None:
    b = XYXY(1.5, 2.0, 11.5, 6.0)
    assert (b.width, b.height, b.area) == (10.0, 4.0, 40.0)
    assert b.as_int() == (2, 2, 12, 6)  # halves to even, as Box.from_xyxy rounds
    assert b.scaled(2, 0.5) == XYXY(3.0, 1.0, 23.0, 3.0)
    assert b.shifted(-1.5, 1) == XYXY(0.0, 3.0, 10.0, 7.0)
    assert b.clipped(100, 100) is b
    clipped = XYXY(-5.0, -1.0, 50.0, 8.0).clipped(20, 6)
    assert clipped == XYXY(0.0, 0.0, 20, 6) and type(clipped.x1) is float


def test_box_methods_keep_the_subclass_and_its_fields() -> None:
    det = Detection(10.0, 10.0, 30.0, 20.0, 0.7)
    assert det.scaled(0.5, 0.5) == Detection(5.0, 5.0, 15.0, 10.0, 0.7)
    assert det.shifted(5, 0) == Detection(15.0, 10.0, 35.0, 20.0, 0.7)
    assert det.clipped(25, 15) == Detection(10.0, 10.0, 25, 15, 0.7)
    face = Face.from_box(det, label="with_mask", confidence=0.9, detector_score=det.score)
    assert isinstance(face, XYXY) and face.xyxy == det.xyxy and face.detector_score == 0.7
    assert replace(face, x1=12.0).xyxy == (12.0, 10.0, 30.0, 20.0)


def test_an_annotation_box_stays_in_whole_pixels() -> None:
    box = Box(-3, 2, 13, 9, "with_mask", 0.5, None, "b1")
    clipped = box.clipped(10, 8)
    assert clipped == Box(0, 2, 10, 8, "with_mask", 0.5) and clipped.id == "b1"
    assert all(type(v) is int for v in clipped.xyxy)
    assert box.scaled(0.5, 0.5).xyxy == (-2, 1, 6, 4) and all(
        type(v) is int for v in box.scaled(0.5, 0.5).xyxy
    )
    from_det = Box.from_box(Detection(1.4, 2.6, 20.5, 9.5, 0.8), label="x", score=0.8)
    assert from_det == Box(1, 3, 20, 10, "x", 0.8)


def test_every_box_of_core_is_or_holds_an_xyxy() -> None:
    raw = RawBox(1.0, 2.0, 3.0, 4.0, "mask")
    scene = SceneFace("mask", (1, 2, 3, 4))
    face = Face(1.0, 2.0, 3.0, 4.0, "mask", 0.9)
    for box in (Box(1, 2, 3, 4), Detection(1.0, 2.0, 3.0, 4.0, 0.5), face, raw, scene.box):
        assert isinstance(box, XYXY) and box.xyxy == (1, 2, 3, 4)
    assert scene.xyxy == (1.0, 2.0, 3.0, 4.0) and type(scene.box) is XYXY
    np.testing.assert_array_equal(as_xyxy_array([raw, face, scene.box]), [[1, 2, 3, 4]] * 3)
    with pytest.raises(MatchingError):
        SceneFace("mask", (3, 2, 1, 4))
