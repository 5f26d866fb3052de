"""The one box type of core (`XYXY`), box overlap (IoU), greedy one-to-one matching of predicted
boxes to ground-truth boxes, and non-maximum suppression.

Every box in core is an `XYXY` or holds one: a detector's `Detection`, Predict's `Face`, an
annotation `Box` (whole pixels), a file's `RawBox` are subclasses; a scene's `SceneFace` holds
one as `.box`. Functions taking boxes accept a sequence of `XYXY` (or of 4-number sequences) or
an (N, 4) array. Boxes are axis-aligned, so the overlap is computed with numpy over every
(prediction, truth) pair at once. Used by the scene evaluation, the VOC/detector checks, Live's
face tracking, and the thorough detector, which merges its passes with `suppress_overlaps`
(greedy non-maximum suppression).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self, TypeAlias

import numpy as np

from core.errors import MaskStudioError

#: The Pascal VOC rule: a prediction finds a true box when their IoU is at least this.
DEFAULT_MIN_IOU = 0.5


class MatchingError(MaskStudioError, ValueError):
    """Not valid boxes (wrong shape, not finite, x2 < x1) or a bad IoU threshold."""


@dataclass(frozen=True)
class XYXY:
    """An axis-aligned box: top-left corner (x1, y1), bottom-right corner (x2, y2), in pixels.

    The plain constructor checks nothing (it is the hot path of every detector); `XYXY.of`
    builds a checked one (four finite numbers, x1 <= x2, y1 <= y2). Subclasses add fields
    (a score, a label); the methods below keep them (`dataclasses.replace`).
    """

    x1: float
    y1: float
    x2: float
    y2: float

    @staticmethod
    def of(box: BoxLike | Iterable[float]) -> XYXY:
        """A plain, checked XYXY from an XYXY (of any subclass) or 4 numbers; MatchingError
        unless they are four finite numbers with x1 <= x2 and y1 <= y2."""
        x1, y1, x2, y2 = xyxy_floats(box)
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise MatchingError(f"a box must be finite numbers, got {(x1, y1, x2, y2)!r}")
        if x2 < x1 or y2 < y1:
            raise MatchingError(f"a box must have x2 >= x1 and y2 >= y1, got {(x1, y1, x2, y2)!r}")
        return XYXY(x1, y1, x2, y2)

    @classmethod
    def from_box(cls, box: BoxLike, **fields: Any) -> Self:
        """A `cls` at the corners of `box` (checked as `of` checks them), with the other fields
        given by name: `Face.from_box(detection, label=..., confidence=...)`."""
        b = XYXY.of(box)
        return cls(b.x1, b.y1, b.x2, b.y2, **fields)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    def as_int(self) -> tuple[int, int, int, int]:
        """The corners rounded to whole pixels (Python's round: halves to even)."""
        return (int(round(self.x1)), int(round(self.y1)), int(round(self.x2)), int(round(self.y2)))

    def scaled(self, sx: float, sy: float) -> Self:
        """The box with x multiplied by `sx` and y by `sy` (other fields kept)."""
        return replace(self, x1=self.x1 * sx, y1=self.y1 * sy, x2=self.x2 * sx, y2=self.y2 * sy)

    def shifted(self, dx: float, dy: float) -> Self:
        """The box moved by (`dx`, `dy`) (other fields kept)."""
        return replace(self, x1=self.x1 + dx, y1=self.y1 + dy, x2=self.x2 + dx, y2=self.y2 + dy)

    def clipped(self, width: float, height: float) -> Self:
        """The box clipped to an image of `width` x `height` (itself when already inside).

        A corner clipped to 0 stays the type of the box's numbers (an annotation Box's ints)."""
        zero: float = 0 if isinstance(self.x1, int) else 0.0
        x1, x2 = min(max(self.x1, zero), width), min(max(self.x2, zero), width)
        y1, y2 = min(max(self.y1, zero), height), min(max(self.y2, zero), height)
        if (x1, y1, x2, y2) == self.xyxy:
            return self
        return replace(self, x1=x1, y1=y1, x2=x2, y2=y2)


#: One box: an XYXY (or subclass) or 4 numbers (x1, y1, x2, y2).
BoxLike: TypeAlias = XYXY | Sequence[float]
#: Several boxes: a sequence of BoxLike or an (N, 4) array.
Boxes: TypeAlias = Iterable[BoxLike] | np.ndarray


def as_xyxy_array(boxes: Boxes) -> np.ndarray:
    """`boxes` as a float (N, 4) xyxy array; MatchingError when they are not valid boxes."""
    try:
        if not isinstance(boxes, np.ndarray):
            boxes = [b.xyxy if isinstance(b, XYXY) else b for b in boxes]
        arr = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MatchingError(f"boxes must be (N, 4) numbers, got {boxes!r}") from exc
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise MatchingError(f"boxes must be (N, 4) xyxy, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise MatchingError("boxes must be finite numbers")
    if (arr[:, 2] < arr[:, 0]).any() or (arr[:, 3] < arr[:, 1]).any():
        raise MatchingError("boxes must have x2 >= x1 and y2 >= y1")
    return arr


def xyxy_floats(box: BoxLike | Iterable[Any]) -> tuple[float, float, float, float]:
    """One box (an XYXY or any 4 numbers) as a tuple of 4 floats, unchecked beyond their count
    (MatchingError unless there are 4)."""
    values = tuple(float(v) for v in (box.xyxy if isinstance(box, XYXY) else box))
    if len(values) != 4:
        raise MatchingError(f"a box is 4 numbers (x1, y1, x2, y2), got {len(values)}")
    return values[0], values[1], values[2], values[3]


def iou_matrix(predictions: Boxes, truths: Boxes) -> np.ndarray:
    """IoU of every prediction with every truth, shape (N, M); 0 where the union is empty."""
    a, b = as_xyxy_array(predictions), as_xyxy_array(truths)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0.0, None) * np.clip(h, 0.0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou(a: BoxLike, b: BoxLike) -> float:
    """IoU of two single boxes."""
    return float(iou_matrix([a], [b])[0, 0])


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching one image: (prediction, truth, IoU) pairs and what stayed unmatched.

    Indices point into the prediction and truth sequences as given.
    """

    pairs: tuple[tuple[int, int, float], ...]
    unmatched_predictions: tuple[int, ...]
    unmatched_truths: tuple[int, ...]

    @property
    def matched(self) -> int:
        return len(self.pairs)

    @property
    def n_predictions(self) -> int:
        return len(self.pairs) + len(self.unmatched_predictions)

    @property
    def n_truths(self) -> int:
        return len(self.pairs) + len(self.unmatched_truths)

    @property
    def matched_truths(self) -> frozenset[int]:
        return frozenset(t for _, t, _ in self.pairs)

    @property
    def recall(self) -> float | None:
        return recall(self.matched, self.n_truths)

    @property
    def precision(self) -> float | None:
        return precision(self.matched, self.n_predictions)


def match_boxes(predictions: Boxes, truths: Boxes, min_iou: float = DEFAULT_MIN_IOU) -> MatchResult:
    """Greedy one-to-one matching, highest IoU first, of pairs with IoU >= `min_iou`.

    Ties keep the lower prediction index, then the lower truth index, so the result is
    deterministic. A prediction matches at most one truth and a truth at most one prediction.
    """
    if not 0.0 < float(min_iou) <= 1.0:
        raise MatchingError(f"min_iou must be in (0, 1], got {min_iou!r}")
    ious = iou_matrix(predictions, truths)
    n_pred, n_true = ious.shape
    rows, cols = np.nonzero(ious >= min_iou)
    order = np.lexsort((cols, rows, -ious[rows, cols]))
    used_pred: set[int] = set()
    used_true: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for k in order.tolist():
        p, t = int(rows[k]), int(cols[k])
        if p not in used_pred and t not in used_true:
            used_pred.add(p)
            used_true.add(t)
            pairs.append((p, t, float(ious[p, t])))
    return MatchResult(
        pairs=tuple(pairs),
        unmatched_predictions=tuple(i for i in range(n_pred) if i not in used_pred),
        unmatched_truths=tuple(i for i in range(n_true) if i not in used_true),
    )


def suppress_overlaps(boxes: Boxes, scores: Any, max_iou: float) -> list[int]:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first.

    The best remaining box is kept and every box overlapping it by IoU > `max_iou` is dropped;
    equal scores keep the lower index first.
    """
    if not 0.0 < float(max_iou) <= 1.0:
        raise MatchingError(f"max_iou must be in (0, 1], got {max_iou!r}")
    arr = as_xyxy_array(boxes)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(s) != len(arr) or not np.isfinite(s).all():
        raise MatchingError(f"need one finite score per box, got {len(s)} scores for {len(arr)} boxes")
    order = np.argsort(-s, kind="stable")
    ious = iou_matrix(arr[order], arr[order])
    dropped = np.zeros(len(order), dtype=bool)
    kept: list[int] = []
    for i in range(len(order)):
        if not dropped[i]:
            kept.append(int(order[i]))
            dropped |= ious[i] > max_iou
    return kept


def recall(matched: int, truths: int) -> float | None:
    """Share of true boxes found: matched / truths; None when there are no truths."""
    _check_counts(matched, truths)
    return matched / truths if truths else None


def precision(matched: int, predictions: int) -> float | None:
    """Share of predictions that are right: matched / predictions; None when there are none."""
    _check_counts(matched, predictions)
    return matched / predictions if predictions else None


def total(results: Iterable[MatchResult]) -> tuple[int, int, int]:
    """(matched, predictions, truths) summed over several images' results."""
    matched = predictions = truths = 0
    for r in results:
        matched += r.matched
        predictions += r.n_predictions
        truths += r.n_truths
    return matched, predictions, truths


def _check_counts(matched: int, out_of: int) -> None:
    if matched < 0 or out_of < 0 or matched > out_of:
        raise MatchingError(f"need 0 <= matched <= total, got {matched} of {out_of}")
