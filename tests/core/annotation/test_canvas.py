from __future__ import annotations

import pytest

from core.annotation import canvas
from core.annotation.annotations import NONE, Annotations, Box
from core.overlay import class_hex


def drawn(view: canvas.CanvasView, *boxes: Box) -> list[dict]:
    return [view.to_canvas(b) for b in boxes]


@pytest.mark.parametrize(
    ("size", "max_w", "max_h"),
    [((4000, 3000), 800, 650), ((4000, 3000), 720, 650), ((1280, 720), 720, 650), ((333, 777), 720, 650)],
)
def test_round_trip_exact_to_one_pixel(size: tuple[int, int], max_w: int, max_h: int) -> None:
    view = canvas.CanvasView.fit(*size, max_w, max_h)
    assert view.display_w <= max_w and view.display_h <= max_h
    box = Box(123, 457, 1111 % size[0], 2999 % size[1])
    box = Box.from_xyxy(box.xyxy)
    back = Box.from_xyxy(view.to_image(view.to_canvas(box)))
    assert back.xyxy == box.xyxy


def test_4000x3000_photo_at_about_0_2_maps_canvas_pixels_to_original_pixels() -> None:
    view = canvas.CanvasView.fit(4000, 3000, 800, 650)
    assert view.sx == pytest.approx(0.2)
    x1, y1, x2, y2 = view.to_image({"left": 100, "top": 50, "width": 40, "height": 60})
    assert (x1, y1, x2, y2) == pytest.approx((500, 250, 700, 550))


def test_small_images_are_enlarged_at_most_four_times() -> None:
    assert canvas.CanvasView.fit(400, 267, 720, 650).display_w == 720
    view = canvas.CanvasView.fit(100, 50, 720, 650)
    assert (view.display_w, view.display_h) == (400, 200)


def test_new_box_is_added_in_original_pixels_with_its_label() -> None:
    ann = Annotations(["mask"])
    view = canvas.CanvasView.fit(4000, 3000, 800, 650)
    changes = canvas.apply_drawing(
        ann, "a.jpg", [{"label": "mask", "left": 100, "top": 50, "width": 40, "height": 60}], view
    )
    assert changes.added == 1 and not changes.refused
    assert ann.boxes("a.jpg") == [Box(500, 250, 700, 550, "mask")]


def test_unchanged_drawing_changes_nothing() -> None:
    ann = Annotations(["mask"])
    ann.add_box("a.jpg", Box(10, 10, 110, 110, "mask"))
    view = canvas.CanvasView.fit(4000, 3000, 800, 650)
    changes = canvas.apply_drawing(ann, "a.jpg", drawn(view, *ann.boxes("a.jpg")), view)
    assert not changes.changed and not changes.refused
    assert ann.boxes("a.jpg") == [Box(10, 10, 110, 110, "mask")]


@pytest.mark.parametrize(
    ("canvas_box", "rule_text"),
    [
        ({"left": 0, "top": 0, "width": 1, "height": 50}, "side of 5 px"),
        ({"left": 10, "top": 10, "width": 100, "height": 100}, "overlaps box 1"),
    ],
)
def test_refused_boxes_are_explained_and_not_saved(canvas_box: dict, rule_text: str) -> None:
    ann = Annotations(["mask"])
    ann.add_box("a.jpg", Box(10, 10, 110, 110, "mask"))
    view = canvas.CanvasView(200, 200, 200, 200)
    changes = canvas.apply_drawing(
        ann, "a.jpg", drawn(view, *ann.boxes("a.jpg")) + [dict(canvas_box, label="mask")], view
    )
    assert changes.added == 0
    assert len(changes.refused) == 1 and rule_text in changes.refused[0]
    assert len(ann.boxes("a.jpg")) == 1


def test_box_removed_on_canvas_is_deleted() -> None:
    ann = Annotations(["mask"])
    ann.add_box("a.jpg", Box(10, 10, 60, 60, "mask"))
    ann.add_box("a.jpg", Box(100, 100, 160, 160, NONE))
    view = canvas.CanvasView(200, 200, 200, 200)
    changes = canvas.apply_drawing(ann, "a.jpg", drawn(view, ann.boxes("a.jpg")[1]), view)
    assert changes.removed == 1
    assert ann.boxes("a.jpg") == [Box(100, 100, 160, 160, NONE)]


def test_moved_box_is_checked_and_a_refused_move_keeps_the_old_place() -> None:
    ann = Annotations(["mask"])
    ann.add_box("a.jpg", Box(10, 10, 60, 60, "mask"))
    ann.add_box("a.jpg", Box(100, 100, 160, 160, "mask"))
    view = canvas.CanvasView(200, 200, 200, 200)
    ok = drawn(view, Box(20, 20, 70, 70, "mask"), ann.boxes("a.jpg")[1])
    assert canvas.apply_drawing(ann, "a.jpg", ok, view).moved == 1
    assert ann.boxes("a.jpg")[0].xyxy == (20, 20, 70, 70)
    bad = drawn(view, Box(95, 95, 155, 155, "mask"), ann.boxes("a.jpg")[1])
    changes = canvas.apply_drawing(ann, "a.jpg", bad, view)
    assert changes.moved == 0 and changes.refused
    assert ann.boxes("a.jpg")[0].xyxy == (20, 20, 70, 70)


def test_relabelled_chip_changes_category_and_unknown_label_falls_back() -> None:
    ann = Annotations(["mask", "no_mask"])
    ann.add_box("a.jpg", Box(10, 10, 60, 60, "mask"))
    view = canvas.CanvasView(200, 200, 200, 200)
    d = drawn(view, ann.boxes("a.jpg")[0])
    d[0]["label"] = "no_mask"
    d.append({"label": "typo", "left": 100, "top": 100, "width": 50, "height": 50})
    changes = canvas.apply_drawing(ann, "a.jpg", d, view, default_label="mask")
    assert changes.relabelled == 1 and changes.added == 1
    assert [b.label for b in ann.boxes("a.jpg")] == ["no_mask", "mask"]


def test_box_drawn_past_the_edge_is_clipped() -> None:
    ann = Annotations(["mask"])
    view = canvas.CanvasView(100, 100, 100, 100)
    canvas.apply_drawing(
        ann, "a.jpg", [{"label": "mask", "left": 80, "top": -10, "width": 50, "height": 40}], view
    )
    assert ann.boxes("a.jpg")[0].xyxy == (80, 0, 100, 30)


def test_malformed_canvas_items_are_ignored() -> None:
    ann = Annotations()
    view = canvas.CanvasView(100, 100, 100, 100)
    changes = canvas.apply_drawing(
        ann, "a.jpg", [{"left": "x"}, {"left": float("nan"), "top": 1, "width": 1, "height": 1}], view
    )
    assert not changes.changed and ann.boxes("a.jpg") == []


def test_drawing_token_names_the_boxes_and_categories_the_canvas_shows() -> None:
    ann = Annotations(["mask"])
    ann.add_box("a.jpg", Box(10, 10, 110, 110, "mask"))
    token = canvas.drawing_token(ann, "a.jpg")
    ann.add_box("b.jpg", Box(10, 10, 110, 110))  # another image: same canvas
    assert canvas.drawing_token(ann, "a.jpg") == token
    ann.set_label("a.jpg", 0, NONE)
    assert canvas.drawing_token(ann, "a.jpg") != token
    ann.set_label("a.jpg", 0, "mask")
    assert canvas.drawing_token(ann, "a.jpg") == token
    ann.add_category("no_mask")
    assert canvas.drawing_token(ann, "a.jpg") != token


def test_a_drawing_made_on_other_boxes_is_refused_and_changes_nothing() -> None:
    """An import replaced the boxes after the canvas was drawn: its old boxes must not come back
    as moves or additions (issue 12: lost, relabelled and revived boxes)."""
    view = canvas.CanvasView.fit(400, 267, 720, 650)
    before = Annotations(["mask"])
    before.add_box("a.jpg", Box(10, 10, 40, 50))
    before.add_box("a.jpg", Box(60, 10, 95, 50))
    token = canvas.drawing_token(before, "a.jpg")
    imported = Annotations(["mask"])
    imported.add_box("a.jpg", Box(177, 142, 213, 202, "mask"))
    imported.add_box("a.jpg", Box(279, 102, 312, 145, "mask"))
    with pytest.raises(canvas.StaleDrawing):
        canvas.apply_drawing(imported, "a.jpg", drawn(view, *before.boxes("a.jpg")), view, made_on=token)
    assert imported.boxes("a.jpg") == [Box(177, 142, 213, 202, "mask"), Box(279, 102, 312, 145, "mask")]
    # Against the boxes it was made on, the same drawing applies.
    assert not canvas.apply_drawing(
        before, "a.jpg", drawn(view, *before.boxes("a.jpg")), view, made_on=token
    ).changed


def test_caption_size_follows_the_smallest_box() -> None:
    view = canvas.CanvasView.fit(400, 267, 720, 650)  # 1.8x
    assert canvas.label_font_px([], view) == 14
    assert canvas.label_font_px([Box(0, 0, 100, 100)], view) == 14
    assert canvas.label_font_px([Box(0, 0, 100, 100), Box(200, 0, 215, 10)], view) == 9  # 18 px high shown
    assert canvas.label_font_px([Box(0, 0, 20, 20)], view) == 12  # 36 px high: a third
    assert canvas.label_font_px([Box(0, 0, 30, 60, "with_mask")], view) == 10  # 54 px wide, 9 characters


def test_drawing_differs_only_when_the_user_changed_something() -> None:
    view = canvas.CanvasView.fit(400, 267, 720, 650)
    boxes = [Box(10, 10, 40, 50, "mask"), Box(60, 10, 95, 50)]
    assert not canvas.drawing_differs(boxes, drawn(view, *boxes), view, ["mask"])
    assert canvas.drawing_differs(boxes, drawn(view, *boxes, Box(200, 100, 260, 180)), view, ["mask"])
    assert canvas.drawing_differs(boxes, drawn(view, boxes[0]), view, ["mask"])  # one removed


# ----- the Fabric.js objects -------------------------------------------------------------------
def test_canvas_objects_show_the_boxes_in_display_pixels_and_class_colours() -> None:
    view = canvas.CanvasView.fit(1000, 500, 500, 500)  # shown at half size
    boxes = [Box(100, 100, 300, 260, "with_mask"), Box(500, 40, 540, 80, NONE)]
    objects = canvas.canvas_objects(boxes, view)
    assert [o["type"] for o in objects] == ["LabeledRect", "LabeledRect"]
    first = objects[0]
    assert (first["left"], first["top"], first["width"], first["height"]) == (50, 50, 100, 80)
    assert first["label"] == "#1 with_mask" and first["stroke"] == class_hex("with_mask")
    assert objects[1]["stroke"] == class_hex(NONE) != first["stroke"]
    assert first["strokeWidth"] == canvas.STROKE_WIDTH and "strokeDashArray" not in first
    assert first["fill"] == "rgba(0, 0, 0, 0)" and first["lockRotation"] and first["strokeUniform"]
    assert (first["scaleX"], first["scaleY"], first["angle"]) == (1, 1, 0)
    # each caption is sized to its own box: the small box gets the smaller one
    assert objects[1]["fontSize"] < first["fontSize"]
    assert first["fontSize"] == canvas.label_font_px([boxes[0]], view)
    # what the canvas gives back is the saved boxes again
    assert [view.to_image(o) for o in objects] == [b.xyxy for b in boxes]


def test_a_box_kept_although_it_breaks_a_rule_is_dashed() -> None:
    view = canvas.CanvasView.fit(200, 200, 200, 200)
    (obj,) = canvas.canvas_objects([Box(10, 10, 60, 60, "with_mask", flag="overlap")], view)
    assert obj["strokeDashArray"] == [8, 5] and obj["strokeWidth"] > canvas.STROKE_WIDTH


def test_a_class_has_the_same_colour_whatever_the_category_order() -> None:
    view = canvas.CanvasView.fit(200, 200, 200, 200)
    box = Box(10, 10, 60, 60, "without_mask")
    assert canvas.canvas_objects([box], view)[0]["stroke"] == class_hex("without_mask") == "#c62828"


def test_no_boxes_no_objects() -> None:
    assert canvas.canvas_objects([], canvas.CanvasView.fit(200, 200)) == []


def test_the_canvas_numbers_boxes_and_marks_the_selected_one() -> None:
    view = canvas.CanvasView.fit(200, 200, 200, 200)
    ann = Annotations(["mask"])
    a = ann.add_box("a.jpg", Box(10, 10, 60, 60, "mask"))
    ann.add_box("a.jpg", Box(100, 100, 150, 150))
    objects = canvas.canvas_objects(ann.boxes("a.jpg"), view, selected=a.id)
    assert [o["label"] for o in objects] == ["#1 mask", "#2 None"]
    assert objects[0]["strokeWidth"] > objects[1]["strokeWidth"] == canvas.STROKE_WIDTH


def test_a_numbered_caption_is_read_back_as_its_category() -> None:
    view = canvas.CanvasView.fit(200, 200, 200, 200)
    ann = Annotations(["mask"])
    ann.add_box("a.jpg", Box(10, 10, 60, 60, "mask"))
    ann.add_box("a.jpg", Box(100, 100, 150, 150))
    drawn = [
        {**view.to_canvas(b), "label": o["label"]}
        for b, o in zip(ann.boxes("a.jpg"), canvas.canvas_objects(ann.boxes("a.jpg"), view), strict=True)
    ]
    assert not canvas.drawing_differs(ann.boxes("a.jpg"), drawn, view, ann.categories)
    drawn[1]["label"] = "#2 mask"  # relabelled on the canvas, number kept
    changes = canvas.apply_drawing(ann, "a.jpg", drawn, view)
    assert changes.relabelled == 1 and ann.boxes("a.jpg")[1].label == "mask"


def test_a_moved_box_keeps_its_id() -> None:
    view = canvas.CanvasView.fit(200, 200, 200, 200)
    ann = Annotations(["mask"])
    box = ann.add_box("a.jpg", Box(10, 10, 60, 60, "mask"))
    drawn = [{**view.to_canvas(box), "left": 30 * view.sx}]
    assert canvas.apply_drawing(ann, "a.jpg", drawn, view).moved == 1
    assert ann.boxes("a.jpg")[0].x1 == 30 and ann.boxes("a.jpg")[0].id == box.id
