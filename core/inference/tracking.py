"""Class probabilities remembered across video frames, so a followed face is not classified on
every frame.

A face found again where it was on the previous processed frame (`core.geometry.match_boxes`:
greedy one-to-one matching, IoU >= `min_iou`) is the same face: it keeps the probabilities it was last classified with, for
at most `every` - 1 frames. Each frame classifies, in one batch:

    * every face that is new or moved too far (no match),
    * every followed face whose probabilities are `every` - 1 frames old (due),
    * and, oldest first, enough others that followed faces are refreshed at an even rate of
      1/`every` per face and frame (a fractional budget carried from frame to frame), so the
      refreshes spread over the frames instead of coming all at once.

`every=1` classifies every face on every frame (the strict mode). A person who puts a mask on
is seen at most `every` - 1 processed frames later; the
box, found by the detector on every frame, is never reused. The memory belongs to one stream
and one classifier: `for_model` forgets everything when the classifier changes. Not
thread-safe: one worker thread uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.geometry import match_boxes, xyxy_floats

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
        matches: list[int | None] = [None] * len(new)
        if self.every > 1:
            for i, j, _ in match_boxes(new, old, self.min_iou).pairs:
                matches[i] = j
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
        found: dict[int, np.ndarray] = {}
        if todo:
            fresh = np.asarray(classify(todo))
            if len(fresh) != len(todo):
                raise ValueError(f"classify returned {len(fresh)} rows for {len(todo)} boxes")
            found.update(zip(todo, fresh, strict=True))
        known_of = {i: m for i, m in enumerate(matches) if m is not None}
        for i in ages:
            found[i] = self._known[known_of[i]].probs
        rows = [found[i] for i in range(len(new))]  # every box: classified now or followed
        self._credit = max(credit - refresh, 0.0)
        self._known = [_Known(xyxy_floats(new[i]), rows[i], ages.get(i, 0)) for i in range(len(new))]
        return rows, len(todo)
