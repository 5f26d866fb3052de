"""Box rules and category operations of core.annotation.annotations."""

from __future__ import annotations

import pytest

from core.annotation.annotations import (
    NONE,
    Annotations,
    Box,
    BoxGone,
    check_box,
    derived_box_ids,
    overlap_ratio,
    validate_category_name,
)
from core.errors import BoxRejected, CategoryError


@pytest.mark.parametrize(
    ("xyxy", "rule"),
    [
        ((0, 0, 6, 6), "min_area"),  # 36 px² < 40, sides 6 px
        ((0, 0, 5, 100), "min_side"),  # 5 px wide
        ((0, 0, 100, 5), "min_side"),
        ((0, 0, 1, 1), "min_side"),
        ((10, 10, 10, 50), "min_side"),  # empty
    ],
)
def test_check_box_refuses_small_boxes(xyxy: tuple[int, int, int, int], rule: str) -> None:
    with pytest.raises(BoxRejected) as info:
        check_box(Box(*xyxy))
    assert info.value.rule == rule


@pytest.mark.parametrize("xyxy", [(0, 0, 6, 7), (0, 0, 7, 6), (0, 0, 6, 100), (0, 0, 40, 40)])
def test_check_box_accepts_six_pixel_sides(xyxy: tuple[int, int, int, int]) -> None:
    check_box(Box(*xyxy))


@pytest.mark.parametrize(
    ("other", "refused"),
    [
        ((80, 0, 180, 100), False),  # 20% of the smaller box: accepted
        ((79, 0, 179, 100), True),  # 21%: refused
        ((100, 0, 200, 100), False),  # touching edges only
        ((90, 90, 100, 100), True),  # small box inside the big one: 100% of the smaller
        ((0, 0, 100, 100), True),  # the same box
    ],
)
def test_overlap_rule_uses_the_smaller_box(other: tuple[int, int, int, int], refused: bool) -> None:
    first = Box(0, 0, 100, 100)
    candidate = Box(*other)
    if refused:
        with pytest.raises(BoxRejected) as info:
            check_box(candidate, [first])
        assert info.value.rule == "overlap"
    else:
        check_box(candidate, [first])


def test_overlap_ratio_of_exactly_twenty_percent() -> None:
    assert overlap_ratio(Box(0, 0, 100, 100), Box(80, 0, 180, 100)) == pytest.approx(0.2)


def test_add_box_clips_to_the_image_then_checks() -> None:
    ann = Annotations(["mask"])
    added = ann.add_box("a.jpg", Box(-20, -10, 50, 4000, "mask"), image_size=(40, 30))
    assert added.xyxy == (0, 0, 40, 30)
    assert ann.boxes("a.jpg") == [added]
    with pytest.raises(BoxRejected) as info:  # only 3 px left inside the image
        ann.add_box("a.jpg", Box(37, 0, 90, 30, "mask"), image_size=(40, 30))
    assert info.value.rule == "min_side"


def test_add_box_refuses_an_unknown_label_and_keeps_state() -> None:
    ann = Annotations(["mask"])
    with pytest.raises(CategoryError):
        ann.add_box("a.jpg", Box(0, 0, 50, 50, "ffp2"))
    assert ann.boxes("a.jpg") == []


def test_try_add_boxes_reports_each_refusal_with_its_rule() -> None:
    ann = Annotations()
    added, refused = ann.try_add_boxes(
        "a.jpg", [Box(0, 0, 100, 100), Box(50, 50, 150, 150), Box(200, 200, 203, 260), Box(300, 0, 400, 90)]
    )
    assert [b.xyxy for b in added] == [(0, 0, 100, 100), (300, 0, 400, 90)]
    assert [exc.rule for _, exc in refused] == ["overlap", "min_side"]


def test_box_from_xyxy_rounds_and_orders() -> None:
    box = Box.from_xyxy([853.4, 727.0, 421.0, 143.6], "mask", 0.5)
    assert box.xyxy == (421, 144, 853, 727)
    with pytest.raises(BoxRejected):
        Box.from_xyxy([0, 0, float("nan"), 1])


def _with_boxes() -> Annotations:
    ann = Annotations(["mask", "no_mask"])
    ann.add_box("a.jpg", Box(0, 0, 50, 50, "mask", 0.9))
    ann.add_box("a.jpg", Box(100, 0, 150, 50, "no_mask"))
    ann.add_box("b.jpg", Box(0, 0, 50, 50, "mask"))
    return ann


def test_categories_keep_none_first_and_drop_duplicates() -> None:
    assert Annotations(["mask", "None", " mask "]).categories == [NONE, "mask"]


def test_add_category_refuses_duplicates_and_bad_names() -> None:
    ann = Annotations(["mask"])
    assert ann.add_category(" ffp2 ") == "ffp2"
    for bad in ["mask", "None", "", "   ", "a\nb", "x" * 101, 3]:
        with pytest.raises(CategoryError):
            ann.add_category(bad)
    assert ann.categories == [NONE, "mask", "ffp2"]


def test_rename_category_moves_its_boxes() -> None:
    ann = _with_boxes()
    ann.rename_category("mask", "surgical")
    assert ann.categories == [NONE, "surgical", "no_mask"]
    assert [b.label for b in ann.boxes("a.jpg")] == ["surgical", "no_mask"]
    assert ann.boxes("a.jpg")[0].score == 0.9
    assert ann.boxes("b.jpg")[0].label == "surgical"


@pytest.mark.parametrize(
    ("old", "new"), [("None", "x"), ("mask", "no_mask"), ("mask", "None"), ("ghost", "x")]
)
def test_rename_category_refusals(old: str, new: str) -> None:
    ann = _with_boxes()
    with pytest.raises(CategoryError):
        ann.rename_category(old, new)
    assert ann.categories == [NONE, "mask", "no_mask"]


def test_delete_category_turns_its_boxes_into_none() -> None:
    ann = _with_boxes()
    assert ann.delete_category("mask") == 2
    assert ann.categories == [NONE, "no_mask"]
    assert [b.label for b in ann.boxes("a.jpg")] == [NONE, "no_mask"]
    assert ann.label_counts() == {NONE: 2, "no_mask": 1}


@pytest.mark.parametrize("name", ["None", "ghost"])
def test_delete_category_refusals(name: str) -> None:
    ann = _with_boxes()
    with pytest.raises(CategoryError):
        ann.delete_category(name)
    assert ann.categories == [NONE, "mask", "no_mask"]


def test_literal_names_are_kept() -> None:
    for name in ["../x", "<b>x</b>", "日本"]:
        assert validate_category_name(name) == name


def test_copy_is_independent() -> None:
    ann = _with_boxes()
    twin = ann.copy()
    twin.delete_box("a.jpg", 0)
    twin.add_category("ffp2")
    assert len(ann.boxes("a.jpg")) == 2
    assert "ffp2" not in ann.categories


def test_add_box_or_flag_keeps_rule_breakers_with_their_rule() -> None:
    ann = Annotations(["car"])
    assert ann.add_box_or_flag("a.jpg", Box(0, 0, 50, 50, "car")).flag is None
    assert ann.add_box_or_flag("a.jpg", Box(10, 10, 20, 20, "car")).flag == "overlap"
    assert ann.add_box_or_flag("a.jpg", Box(60, 0, 63, 3, "car")).flag == "min_side"
    assert ann.add_box_or_flag("a.jpg", Box(60, 60, 75, 62, "car"), image_size=(100, 100)).flag == "min_side"
    assert ann.flagged_count() == 3
    assert ann.add_box_or_flag("a.jpg", Box(0, 0, 50, 50)).with_label("car").flag == "overlap"  # kept
    with pytest.raises(BoxRejected):  # nothing left inside the image: never kept
        ann.add_box_or_flag("a.jpg", Box(200, 200, 250, 250, "car"), image_size=(100, 100))
    with pytest.raises(CategoryError):
        ann.add_box_or_flag("a.jpg", Box(0, 0, 50, 50, "bus"))
    assert len(ann.boxes("a.jpg")) == 5


# ----- box ids ------------------------------------------------------------------------------
def _two_boxes() -> Annotations:
    ann = Annotations(["mask", "no_mask"])
    ann.add_box("a.jpg", Box(0, 0, 20, 20))
    ann.add_box("a.jpg", Box(40, 40, 60, 60))
    return ann


def test_every_added_box_gets_its_own_id() -> None:
    ann = _two_boxes()
    ids = [b.id for b in ann.boxes("a.jpg")]
    assert all(ids) and len(set(ids)) == 2
    added, _ = ann.try_add_boxes("a.jpg", [Box(80, 80, 100, 100, id=ids[0])])
    assert added[0].id not in ids  # a taken id is not reused on one image


def test_ids_do_not_change_equality() -> None:
    assert Box(0, 0, 20, 20, id="a") == Box(0, 0, 20, 20, id="b")


def test_actions_by_id_reach_that_box_wherever_it_now_is() -> None:
    ann = _two_boxes()
    first, second = (b.id for b in ann.boxes("a.jpg"))
    ann.delete_box_by_id("a.jpg", first)  # the second box is now at index 0
    assert ann.set_label_by_id("a.jpg", second, "mask").xyxy == (40, 40, 60, 60)
    assert ann.box_by_id("a.jpg", second).label == "mask"


@pytest.mark.parametrize("action", ["label", "delete", "get"])
def test_a_gone_id_changes_nothing(action: str) -> None:
    ann = _two_boxes()
    gone = ann.boxes("a.jpg")[0].id
    ann.delete_box_by_id("a.jpg", gone)
    before = ann.boxes("a.jpg")
    with pytest.raises(BoxGone):
        if action == "label":
            ann.set_label_by_id("a.jpg", gone, "mask")
        elif action == "delete":
            ann.delete_box_by_id("a.jpg", gone)
        else:
            ann.box_by_id("a.jpg", gone)
    assert ann.boxes("a.jpg") == before and ann.boxes("a.jpg")[0].label == NONE


def test_relabel_and_clip_keep_the_id() -> None:
    box = Box(-5, 0, 20, 20, id="k")
    assert box.with_label("mask").id == "k" and box.clipped(10, 10).id == "k"


def test_derived_ids_repeat_for_the_same_content_and_differ_for_twins() -> None:
    twins = [(0, 0, 20, 20), (0, 0, 20, 20)]
    assert derived_box_ids("a.jpg", twins) == derived_box_ids("a.jpg", twins)
    assert len(set(derived_box_ids("a.jpg", twins))) == 2
    assert derived_box_ids("a.jpg", twins[:1]) != derived_box_ids("b.jpg", twins[:1])
