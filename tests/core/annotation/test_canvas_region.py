"""A zoomed canvas (core.annotation.canvas): the region mapping, and a drawing made on a region
changes only the boxes shown in it."""

from __future__ import annotations

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.canvas import CanvasView, apply_drawing, canvas_objects, drawing_differs

IMAGE = "a.jpg"


@pytest.mark.parametrize(
    ("size", "zoom", "centre", "region"),
    [
        ((400, 267), 1, (10, 10), (0, 0, 400, 267)),  # 1x: the whole image, wherever the centre
        ((400, 267), 2, None, (100, 66, 300, 200)),  # no centre: the image centre (134 px high)
        ((400, 267), 4, (200, 130), (150, 96, 250, 163)),
        ((400, 267), 8, (5, 5), (0, 0, 50, 33)),  # pushed inside at the top left
        ((400, 267), 8, (399, 266), (350, 234, 400, 267)),  # and at the bottom right
        ((4000, 3000), 8, (1234, 2100), (984, 1912, 1484, 2287)),
        ((400, 267), 2, (float("nan"), 50), (100, 0, 300, 134)),  # a non-finite centre: middle
    ],
)
def test_region_is_the_image_over_zoom_around_the_centre_inside_the_image(
    size: tuple[int, int], zoom: int, centre: tuple[float, float] | None, region: tuple[int, int, int, int]
) -> None:
    view = CanvasView.zoomed(*size, zoom, centre, 600, 650)
    base = CanvasView.fit(*size, 600, 650)
    assert view.region == region
    assert (view.display_w, view.display_h) == (base.display_w, base.display_h)  # same canvas size
    assert view.is_zoomed == (zoom > 1)


@pytest.mark.parametrize(
    ("size", "zoom", "centre", "box"),
    [
        ((400, 267), 1, None, (12, 30, 27, 48)),
        ((400, 267), 2, (100, 100), (90, 80, 140, 130)),
        ((400, 267), 4, (200, 130), (193, 121, 208, 138)),
        ((400, 267), 8, (20, 20), (11, 12, 26, 29)),  # a 15 px face at the corner
        ((4000, 3000), 8, (3900, 2900), (3801, 2790, 3999, 2999)),
        ((333, 777), 4, (150, 600), (141, 589, 159, 611)),
    ],
)
def test_round_trip_through_a_zoomed_canvas_is_exact(
    size: tuple[int, int], zoom: int, centre: tuple[float, float] | None, box: tuple[int, int, int, int]
) -> None:
    view = CanvasView.zoomed(*size, zoom, centre, 600, 650)
    b = Box(*box)
    assert Box.from_xyxy(view.to_image(view.to_canvas(b))).xyxy == box
    x, y = view.to_original(*view.to_display(box[0], box[1]))
    assert (x, y) == pytest.approx(box[:2])


def test_display_pixels_map_to_original_pixels_with_the_region_origin() -> None:
    view = CanvasView.zoomed(400, 267, 8, (200, 130), 600, 650)  # region 175,113 50x33; 12x
    assert view.region == (175, 114, 225, 147)
    assert view.sx == pytest.approx(12.0) and view.sy == pytest.approx(view.display_h / 33)
    assert view.to_original(0, 0) == (175, 114)
    assert view.to_original(120, 0) == pytest.approx((185, 114))
    assert view.to_display(175, 114) == (0, 0)


@pytest.mark.parametrize(
    ("face", "zoom"),
    [((190, 120, 205, 135), 8), ((10, 240, 25, 257), 8), ((385, 5, 400, 20), 8), ((190, 120, 205, 135), 4)],
)
def test_a_box_drawn_at_zoom_over_a_15px_face_lands_on_it_within_one_pixel(
    face: tuple[int, int, int, int], zoom: int
) -> None:
    """The user drags from the face's top-left corner to its bottom-right one as seen on the
    zoomed canvas; the box is saved on the face in original pixels."""
    view = CanvasView.zoomed(400, 267, zoom, ((face[0] + face[2]) / 2, (face[1] + face[3]) / 2), 600, 650)
    (left, top), (right, bottom) = view.to_display(face[0], face[1]), view.to_display(face[2], face[3])
    ann = Annotations(["mask"])
    ann.add_box(IMAGE, Box(300, 30, 340, 70, "mask"))  # elsewhere, out of the region
    changes = apply_drawing(
        ann,
        IMAGE,
        [
            {
                "label": "mask",
                "left": round(left),
                "top": round(top),
                "width": round(right - left),
                "height": round(bottom - top),
            }
        ],
        view,
    )
    assert changes.added == 1 and not changes.refused
    drawn = ann.boxes(IMAGE)[1]
    assert all(abs(u - v) <= 1 for u, v in zip(drawn.xyxy, face, strict=True)), drawn.xyxy
    assert ann.boxes(IMAGE)[0].xyxy == (300, 30, 340, 70)


def scene() -> Annotations:
    """Four boxes on a 400x267 image: #1 and #2 inside the region of `VIEW`, #3 across its
    edge, #4 far from it."""
    ann = Annotations(["mask", "no_mask"])
    for box in (
        Box(180, 120, 195, 135, "mask"),
        Box(200, 125, 215, 140, "no_mask"),
        Box(215, 140, 240, 160, "mask"),
        Box(10, 10, 40, 50, "no_mask"),
    ):
        ann.add_box(IMAGE, box)
    return ann


VIEW = CanvasView.zoomed(400, 267, 8, (200, 130), 600, 650)  # region (175, 114, 225, 147)


def test_only_the_boxes_in_the_region_are_on_the_canvas_numbered_as_in_the_list() -> None:
    ann = scene()
    objects = canvas_objects(ann.boxes(IMAGE), VIEW)
    assert [o["label"] for o in objects] == ["#1 mask", "#2 no_mask", "#3 mask"]
    assert [VIEW.shows(b) for b in ann.boxes(IMAGE)] == [True, True, True, False]


def report(ann: Annotations, *extra: dict) -> list[dict]:
    """What the canvas reports when nothing was touched: the shown boxes, then `extra`."""
    return [VIEW.to_canvas(b) for b in ann.boxes(IMAGE) if VIEW.shows(b)] + list(extra)


def moved(d: dict, dx: float) -> dict:
    return {**d, "left": d["left"] + dx}


@pytest.mark.parametrize(
    ("name", "make_report", "expect"),
    [
        ("nothing touched", lambda a: report(a), {"removed": 0, "moved": 0, "added": 0}),
        ("empty report", lambda a: [], {"removed": 3}),  # the canvas cleared: only shown boxes go
        ("first removed", lambda a: report(a)[1:], {"removed": 1}),
        ("second moved", lambda a: [report(a)[0], moved(report(a)[1], 24), report(a)[2]], {"moved": 1}),
        (
            "one drawn",
            lambda a: report(a, {"label": "mask", "left": 0, "top": 280, "width": 120, "height": 120}),
            {"added": 1},
        ),
        ("malformed", lambda a: [{"left": "x"}, {"top": None}], {"removed": 3}),
        ("relabelled", lambda a: [{**report(a)[0], "label": "no_mask"}, *report(a)[1:]], {"relabelled": 1}),
    ],
)
def test_a_box_outside_the_region_survives_any_canvas_report(name: str, make_report, expect: dict) -> None:
    ann = scene()
    outside = ann.boxes(IMAGE)[3]
    changes = apply_drawing(ann, IMAGE, make_report(ann), VIEW, default_label="mask")
    for what, n in expect.items():
        assert getattr(changes, what) == n, (name, changes)
    after = ann.boxes(IMAGE)
    assert outside in after and after[after.index(outside)].id == outside.id
    assert after[after.index(outside)].label == outside.label


def test_a_moved_box_keeps_its_place_in_the_list_and_its_id() -> None:
    ann = scene()
    before = ann.boxes(IMAGE)
    r = report(ann)
    changes = apply_drawing(ann, IMAGE, [r[0], r[1], moved(r[2], -24)], VIEW)  # 24 display px = 2 px
    assert changes.moved == 1
    after = ann.boxes(IMAGE)
    assert [b.id for b in after] == [b.id for b in before]
    assert after[2].xyxy == (213, 140, 238, 160)
    assert after[3] == before[3]


def test_rules_are_checked_against_boxes_outside_the_region_in_original_pixels() -> None:
    ann = scene()
    # Drawn over #3's part outside the region would overlap it: refused, nothing else changes.
    overlapping = {"label": "mask", "left": VIEW.to_display(216, 141)[0], "top": VIEW.to_display(216, 141)[1],
                   "width": 8 * 12, "height": 5 * VIEW.sy}  # fmt: skip
    tiny = {"label": "mask", "left": 0, "top": 0, "width": 5 * 12, "height": 5 * VIEW.sy}  # 5x5 original px
    changes = apply_drawing(ann, IMAGE, report(ann, overlapping, tiny), VIEW)
    assert changes.added == 0 and len(changes.refused) == 2
    assert len(ann.boxes(IMAGE)) == 4


def test_drawing_differs_is_region_aware() -> None:
    ann = scene()
    boxes = ann.boxes(IMAGE)
    assert not drawing_differs(boxes, report(ann), VIEW, list(ann.categories))
    assert drawing_differs(boxes, report(ann)[:2], VIEW, list(ann.categories))
