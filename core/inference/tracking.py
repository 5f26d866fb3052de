"""Class probabilities remembered across video frames, so a followed face is not classified on
every frame.

A face found again where it was on the previous processed frame (greedy one-to-one matching,
IoU >= `min_iou`) is the same face: it keeps the probabilities it was last classified with, for
at most `every` - 1 frames. Each frame classifies, in one batch:

    * every face that is new or moved too far (no match),
    * every followed face whose probabilities are `every` - 1 frames old (due),
    * and, oldest first, enough others that followed faces are refreshed at an even rate of
      1/`every` per face and frame (a fractional budget carried from frame to frame), so the
      refreshes spread over the frames instead of coming all at once.

`every=1` classifies every face on every frame (the strict mode). A person who puts a mask on
is seen at most `every` - 1 processed frames later (about 100 ms at 20 FPS with every=3); the
box, found by the detector on every frame, is never reused. The memory belongs to one stream
and one classifier: `for_model` forgets everything when the classifier changes. Not
thread-safe: one worker thread uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Live's default: a followed face is classified on one frame in three.
DEFAULT_EVERY = 3
MAX_EVERY = 30
#: The overlap (intersection over union) with a face of the previous frame that makes a face
#: "the same face": at 20 FPS a face moves a few pixels between two frames.
MIN_IOU = 0.5


@dataclass(frozen=True)
class _Known:
    box: tuple[float, float, float, float]
    probs: np.ndarray  # the class probabilities it was last classified with
    age: int  # processed frames since then


def check_every(every: int) -> int:
    """`every` as an int in [1, MAX_EVERY]; ValueError otherwise."""
    if isinstance(every, bool) or not isinstance(every, int | np.integer) or not 1 <= int(every) <= MAX_EVERY:
        raise ValueError(f"every must be a whole number from 1 to {MAX_EVERY}, got {every!r}")
    return int(every)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of `a` (N, 4 xyxy) with every box of `b` (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)


def match_boxes(new: np.ndarray, old: np.ndarray, min_iou: float) -> list[int | None]:
    """For each box of `new`, the index of its box in `old` or None: greedy, best IoU first,
    each old box used once, pairs under `min_iou` never matched."""
    out: list[int | None] = [None] * len(new)
    ious = iou_matrix(new, old)
    if ious.size == 0:
        return out
    order = np.argsort(-ious, axis=None, kind="stable")
    used_new, used_old = set(), set()
    for flat in order:
        i, j = divmod(int(flat), ious.shape[1])
        if ious[i, j] < min_iou:
            break
        if i in used_new or j in used_old:
            continue
        out[i] = j
        used_new.add(i)
        used_old.add(j)
    return out


class LabelMemory:
    """See the module docstring: `probabilities` once per processed frame."""

    def __init__(self, every: int = DEFAULT_EVERY, min_iou: float = MIN_IOU) -> None:
        self.every = check_every(every)
        if not 0.0 < min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou!r}")
        self.min_iou = float(min_iou)
        self._known: list[_Known] = []
        self._model: Any = None
        self._credit = 0.0  # refreshes owed to followed faces (see the module docstring)

    def for_model(self, model: Any) -> LabelMemory:
        """Forget every face when `model` is not the classifier the memory was filled by."""
        if model is not self._model:
            self.clear()
            self._model = model
        return self

    def clear(self) -> None:
        self._known = []
        self._credit = 0.0

    def probabilities(
        self, boxes: Sequence[Sequence[float]], classify: Callable[[list[int]], np.ndarray]
    ) -> tuple[list[np.ndarray], int]:
        """(class probabilities for every box, how many boxes were classified now).

        `classify(indices)` returns the probabilities (len(indices), classes) of those boxes, in
        that order; it is called once, with the boxes chosen as the module docstring says (not
        called when none is chosen). If it raises, the memory is left as it was.
        """
        new = np.asarray([tuple(b)[:4] for b in boxes], dtype=np.float64).reshape(-1, 4)
        old = np.asarray([k.box for k in self._known], dtype=np.float64).reshape(-1, 4)
        matches = match_boxes(new, old, self.min_iou) if self.every > 1 else [None] * len(new)
        todo = [i for i, m in enumerate(matches) if m is None]
        followed = sorted(
            ((self._known[m].age, i) for i, m in enumerate(matches) if m is not None),
            key=lambda pair: (-pair[0], pair[1]),
        )
        credit = min(self._credit + len(followed) / self.every, float(len(followed)))
        due = sum(1 for age, _ in followed if age + 1 >= self.every)
        refresh = max(due, int(credit + 1e-9))  # oldest first
        ages: dict[int, int] = {}
        for rank, (age, i) in enumerate(followed):
            if rank < refresh:
                todo.append(i)
            else:
                ages[i] = age + 1
        todo.sort()
        rows: list[np.ndarray | None] = [None] * len(new)
        if todo:
            fresh = np.asarray(classify(todo))
            if len(fresh) != len(todo):
                raise ValueError(f"classify returned {len(fresh)} rows for {len(todo)} boxes")
            for i, row in zip(todo, fresh, strict=True):
                rows[i] = row
        for i in ages:
            rows[i] = self._known[matches[i]].probs  # type: ignore[index]
        self._credit = max(credit - refresh, 0.0)
        self._known = [
            _Known(tuple(float(v) for v in new[i]), rows[i], ages.get(i, 0))  # type: ignore[arg-type]
            for i in range(len(new))
        ]
        return rows, len(todo)  # type: ignore[return-value]
