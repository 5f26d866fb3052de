"""Face-grid batches: applied by box id; stale operations refused box by box."""

from __future__ import annotations

import pytest

from core.annotation.annotations import NONE, Annotations, Box
from core.annotation.labelling import LabelOp, apply_ops, parse_ops


def _image(n: int = 3) -> Annotations:
    ann = Annotations(["mask", "no_mask"])
    for i in range(n):
        ann.add_box("a.jpg", Box(i * 40, 0, i * 40 + 20, 20))
    return ann


def test_a_fresh_batch_is_applied_by_id() -> None:
    ann = _image()
    a, b, c = (x.id for x in ann.boxes("a.jpg"))
    ops = [LabelOp(b, "mask", NONE, 2), LabelOp(a, "no_mask", NONE, 1), LabelOp(c, None, NONE, 3)]
    result = apply_ops(ann, "a.jpg", ops)
    assert (result.applied, result.refused) == (3, [])
    assert [(x.id, x.label) for x in ann.boxes("a.jpg")] == [(a, "no_mask"), (b, "mask")]


def test_two_keys_on_one_box_in_one_batch_end_on_the_last() -> None:
    ann = _image(1)
    a = ann.boxes("a.jpg")[0].id
    apply_ops(ann, "a.jpg", [LabelOp(a, "mask", NONE, 1), LabelOp(a, "no_mask", "mask", 1)])
    assert ann.boxes("a.jpg")[0].label == "no_mask"


def test_a_stale_delete_never_removes_another_box() -> None:
    """Tab A deletes #5; tab B, not refreshed, deletes #6 by id: only #6's box goes."""
    tab_a = _image(6)
    tab_b = tab_a.copy()
    ids = [x.id for x in tab_a.boxes("a.jpg")]
    apply_ops(tab_a, "a.jpg", [LabelOp(ids[4], None, NONE, 5)])
    saved = tab_a  # tab A's save is what tab B's batch meets
    apply_ops(saved, "a.jpg", [LabelOp(ids[5], None, NONE, 6)])
    assert [x.id for x in saved.boxes("a.jpg")] == ids[:4]
    assert len(tab_b.boxes("a.jpg")) == 6


def test_an_operation_on_a_deleted_box_is_refused_with_a_message() -> None:
    ann = _image(2)
    a, b = (x.id for x in ann.boxes("a.jpg"))
    ann.delete_box_by_id("a.jpg", a)  # another tab
    result = apply_ops(ann, "a.jpg", [LabelOp(a, "mask", NONE, 1), LabelOp(b, "mask", NONE, 2)])
    assert result.applied == 1
    assert len(result.refused) == 1 and "Box #1" in result.refused[0] and "deleted" in result.refused[0]
    assert [x.label for x in ann.boxes("a.jpg")] == ["mask"]


@pytest.mark.parametrize("label", ["mask", None])
def test_a_label_changed_elsewhere_is_not_overwritten(label: str | None) -> None:
    ann = _image(1)
    a = ann.boxes("a.jpg")[0].id
    ann.set_label_by_id("a.jpg", a, "no_mask")  # another tab, after this one saw "None"
    result = apply_ops(ann, "a.jpg", [LabelOp(a, label, NONE, 1)])
    assert result.applied == 0 and "no_mask" in result.refused[0]
    assert ann.boxes("a.jpg")[0].label == "no_mask"


def test_an_unknown_category_is_refused() -> None:
    ann = _image(1)
    a = ann.boxes("a.jpg")[0].id
    result = apply_ops(ann, "a.jpg", [LabelOp(a, "gone", NONE, 1)])
    assert result.applied == 0 and result.refused
    assert ann.boxes("a.jpg")[0].label == NONE


def test_parse_ops_keeps_only_well_formed_entries() -> None:
    raw = [
        {"id": "abc", "label": "mask", "was": "None", "n": 2},
        {"id": "abc", "label": None, "was": "mask"},
        {"id": "bad id", "label": "mask", "was": "None"},
        {"id": "abc", "label": 3, "was": "None"},
        {"id": "abc", "label": "mask"},
        "junk",
    ]
    assert parse_ops(raw) == [LabelOp("abc", "mask", "None", 2), LabelOp("abc", None, "mask", 0)]
    assert parse_ops({"id": "abc"}) == []
