"""Label and delete batches from the face grid, applied by box id.

The browser applies each key at once and sends what it did in batches: a list of operations,
each naming a box by id, the label the browser saw on it (`was`) and the new label (or a
delete). A batch is made on the browser's view of the boxes, which another tab or an import may
have changed since: an operation is applied only when its box is still there with the label
the browser saw (or already has the wanted one). Every other operation is refused, box by box,
with a message; it never reaches another box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.annotation.annotations import BOX_ID_PATTERN, NONE, Annotations

#: At most this many operations in one batch (a person labels far fewer between two sends).
MAX_OPS = 500


@dataclass(frozen=True)
class LabelOp:
    """Give box `box_id` the label `label` (None: delete it); `was` is the label the sender saw,
    `number` the box's number as the sender showed it (for messages)."""

    box_id: str
    label: str | None
    was: str
    number: int = 0


@dataclass
class BatchResult:
    """What a batch did: how many operations were applied, and a message per refused one."""

    applied: int = 0
    refused: list[str] = field(default_factory=list)


def parse_ops(raw: Any) -> list[LabelOp]:
    """The operations of a batch as the browser sent them; malformed entries are dropped."""
    if not isinstance(raw, list):
        return []
    ops: list[LabelOp] = []
    for item in raw[:MAX_OPS]:
        if not isinstance(item, dict):
            continue
        box_id, label, was, number = item.get("id"), item.get("label"), item.get("was"), item.get("n", 0)
        if not isinstance(box_id, str) or not BOX_ID_PATTERN.fullmatch(box_id) or not isinstance(was, str):
            continue
        if label is not None and not isinstance(label, str):
            continue
        if isinstance(number, bool) or not isinstance(number, int):
            number = 0
        ops.append(LabelOp(box_id, label, was, number))
    return ops


def apply_ops(ann: Annotations, image: str, ops: list[LabelOp]) -> BatchResult:
    """Apply `ops` in order to `image`, each to the box with its id, refusing stale ones."""
    result = BatchResult()
    for op in ops:
        name = f"Box #{op.number}" if op.number else "A box"
        what = "delete" if op.label is None else f'label "{op.label}"'
        i = ann.index_of(image, op.box_id)
        if i is None:
            if op.label is not None:  # a delete of a box already gone has nothing left to do
                result.refused.append(
                    f"{name}: your {what} was not applied: the box was deleted elsewhere "
                    "(another tab, an import)."
                )
            continue
        box = ann.boxes(image)[i]
        if op.label is not None and box.label == op.label:
            continue  # already so
        if box.label != op.was:
            result.refused.append(
                f'{name}: your {what} was not applied: the box was labelled "{box.label}" '
                "elsewhere since you saw it."
            )
            continue
        if op.label is None:
            ann.delete_box(image, i)
        elif op.label not in ann.category_set():
            result.refused.append(f"{name}: your {what} was not applied: there is no such category.")
            continue
        else:
            ann.set_label(image, i, op.label or NONE)
        result.applied += 1
    return result
