"""Boxes, per-image annotations and the annotation project, with the box rules.

A box is stored in original-image pixels as integers (x1, y1, x2, y2), x2/y2 exclusive edges,
whatever scale the canvas showed. Categories are kept by name in memory; the files store
indices into the category list (the seed layout), so renaming or deleting a category never
needs to renumber boxes here.

Every box has an `id`, stable across saves, moves and relabels: what the annotator's keys,
face grid and ✕ buttons act on, so an action made on an old view of the boxes can never reach
another box. Boxes compare equal by place and content, whatever their ids.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self

import shapely
from shapely import STRtree
from shapely.geometry import box as shapely_box

from core.annotation.category_names import check_new_name, look_alike_key, look_alike_keys
from core.annotation.category_names import has_surrogates as has_surrogates
from core.annotation.category_names import validate_category_name as validate_category_name
from core.errors import BoxRejected, CategoryError, MaskStudioError
from core.geometry import XYXY, BoxLike

NONE = "None"
MIN_AREA = 40  # px²: a smaller box is refused
MIN_SIDE = 5  # px: a side of this length or less is refused
MAX_OVERLAP = 0.20  # intersection over the smaller box's area: more is refused
#: What each rule name a box can be flagged with means (see Annotations.add_box_or_flag).
RULE_TEXT = {
    "min_side": f"a side of {MIN_SIDE} px or less",
    "min_area": f"area under {MIN_AREA} px²",
    "overlap": f"overlaps another box by more than {MAX_OVERLAP:.0%}",
}


class BoxGone(MaskStudioError):
    """An action named a box id the image no longer has (deleted in another tab, an import)."""


#: What a box id may look like (letters, digits, '-' and '_'; at most 40 characters).
BOX_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")


def new_box_id() -> str:
    """A fresh random box id."""
    return uuid.uuid4().hex[:12]


def derived_box_ids(image: str, boxes: Iterable[Sequence[float]]) -> list[str]:
    """Ids for boxes read from a file that has none: the same file always gives the same ids
    (so two tabs reading it agree), from the image name, the box and its repeat number."""
    seen: dict[tuple[float, ...], int] = {}
    out = []
    for xyxy in boxes:
        key = tuple(float(v) for v in xyxy)
        n = seen.get(key, 0)
        seen[key] = n + 1
        h = hashlib.sha1(f"{image}\0{key}\0{n}".encode("utf-8", "backslashreplace"), usedforsecurity=False)
        out.append("d" + h.hexdigest()[:11])
    return out


@dataclass(frozen=True)
class Box(XYXY):
    """An axis-aligned box in original-image pixels, with its category and optional score.

    An XYXY whose corners are whole pixels (`from_xyxy` rounds; `scaled` rounds too).
    `flag` names the rule (a RULE_TEXT key) an imported box breaks when it was kept anyway.
    """

    x1: int
    y1: int
    x2: int
    y2: int
    label: str = NONE
    score: float | None = None
    flag: str | None = None
    id: str = field(default="", compare=False)  # "" until the box joins an Annotations

    @classmethod
    def from_xyxy(
        cls, xyxy: BoxLike | Iterable[float], label: str = NONE, score: float | None = None, box_id: str = ""
    ) -> Self:
        """Build from any box or (x1, y1, x2, y2), rounding to whole pixels and ordering the corners."""
        vals = list(xyxy.xyxy) if isinstance(xyxy, XYXY) else [float(v) for v in xyxy]
        if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
            shown = vals if isinstance(xyxy, XYXY) else list(xyxy)
            raise BoxRejected("invalid", f"a box needs four finite numbers, got {shown!r}")
        x1, y1, x2, y2 = XYXY(*vals).as_int()
        return cls(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), label, score, None, box_id)

    @classmethod
    def from_box(cls, box: BoxLike, **fields: Any) -> Self:
        """As XYXY.from_box, rounded to whole pixels (BoxRejected for a box that is not 4 finite
        numbers)."""
        return replace(cls.from_xyxy(box), **fields)

    def scaled(self, sx: float, sy: float) -> Self:
        """The box scaled, its corners rounded to whole pixels."""
        x1, y1, x2, y2 = XYXY(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy).as_int()
        return replace(self, x1=x1, y1=y1, x2=x2, y2=y2)

    def with_label(self, label: str, score: float | None = None) -> Box:
        return replace(self, label=label, score=score)


def overlap_ratio(a: Box, b: Box) -> float:
    """Intersection area over the smaller box's area (0 when either box is empty)."""
    pa, pb = shapely_box(*a.xyxy), shapely_box(*b.xyxy)
    smaller = min(pa.area, pb.area)
    if smaller <= 0:
        return 0.0
    return float(pa.intersection(pb).area / smaller)


def check_box(box: Box, others: Iterable[Box] = ()) -> None:
    """Raise BoxRejected (with the rule broken) unless `box` obeys the rules against `others`."""
    check_box_shape(box)
    for i, other in enumerate(others):
        ratio = overlap_ratio(box, other)
        if ratio > MAX_OVERLAP:
            raise BoxRejected(
                "overlap",
                f"Box refused: it overlaps box {i + 1} ({other.label}) by {ratio:.0%} of the "
                f"smaller box, more than {MAX_OVERLAP:.0%}.",
            )


def check_box_shape(box: Box) -> None:
    """Raise BoxRejected unless `box` obeys the size rules (side and area)."""
    if box.width <= MIN_SIDE or box.height <= MIN_SIDE:
        raise BoxRejected(
            "min_side",
            f"Box refused: a side of {MIN_SIDE} px or less (it is {box.width}×{box.height} px).",
        )
    if box.area < MIN_AREA:
        raise BoxRejected("min_area", f"Box refused: area {box.area} px² is under {MIN_AREA} px².")


def _earlier_neighbours(boxes: list[Box]) -> dict[int, list[int]]:
    """{j: sorted i < j whose box touches or overlaps box j}, found with a Shapely STRtree.

    O(n log n) plus the number of touching pairs, instead of every box against every other.
    """
    if len(boxes) < 2:
        return {}
    geoms = shapely.box(
        [b.x1 for b in boxes], [b.y1 for b in boxes], [b.x2 for b in boxes], [b.y2 for b in boxes]
    )
    query, found = STRtree(geoms).query(geoms, predicate="intersects")
    out: dict[int, list[int]] = {}
    for j, i in zip(query.tolist(), found.tolist(), strict=True):
        if i < j:
            out.setdefault(j, []).append(i)
    for v in out.values():
        v.sort()
    return out


@dataclass
class ImageAnnotations:
    """The boxes of one image. `extra` keeps seed fields such as `dst` and `src` as they came."""

    boxes: list[Box] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Annotations:
    """Categories plus the boxes of every image, with the rules enforced on every change."""

    def __init__(
        self,
        categories: Iterable[str] = (NONE,),
        images: dict[str, ImageAnnotations] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        cats: list[str] = [NONE]
        seen = {NONE}
        for c in categories:
            name = validate_category_name(c)
            if name not in seen:
                seen.add(name)
                cats.append(name)
        self.categories: list[str] = cats
        self._cat_index: tuple[int, int, frozenset[str]] | None = (id(cats), len(cats), frozenset(seen))
        self.images: dict[str, ImageAnnotations] = dict(images or {})
        self.extra: dict[str, Any] = dict(extra or {})

    # ----- categories -------------------------------------------------------------------
    def add_category(self, name: str) -> str:
        name = validate_category_name(name)
        if name in self.category_set():
            raise CategoryError(f"category {name!r} already exists")
        check_new_name(name, look_alike_keys(self.categories))
        self.categories.append(name)
        return name

    def rename_category(self, old: str, new: str) -> str:
        if old == NONE:
            raise CategoryError('"None" cannot be renamed')
        if old not in self.categories:
            raise CategoryError(f"no category {old!r}")
        new = validate_category_name(new)
        if new == old:
            return new
        if new in self.categories:
            raise CategoryError(f"category {new!r} already exists")
        check_new_name(new, look_alike_keys(c for c in self.categories if c != old))
        self.categories[self.categories.index(old)] = new
        self._cat_index = None
        for ann in self.images.values():
            ann.boxes = [b.with_label(new, b.score) if b.label == old else b for b in ann.boxes]
        return new

    def delete_category(self, name: str) -> int:
        """Delete a category; its boxes become "None". Returns how many boxes changed."""
        if name == NONE:
            raise CategoryError('"None" cannot be deleted')
        if name not in self.categories:
            raise CategoryError(f"no category {name!r}")
        self.categories.remove(name)
        changed = 0
        for ann in self.images.values():
            new_boxes = []
            for b in ann.boxes:
                if b.label == name:
                    b = b.with_label(NONE)
                    changed += 1
                new_boxes.append(b)
            ann.boxes = new_boxes
        return changed

    def merge_categories(self, names: Iterable[str]) -> None:
        """Add every name that is not a category yet (all or none: see check_new_name)."""
        known = set(self.category_set())
        keys = look_alike_keys(self.categories)
        new: list[str] = []
        for n in names:
            n = validate_category_name(n)
            if n not in known:
                check_new_name(n, keys)
                keys.setdefault(look_alike_key(n), n)
                known.add(n)
                new.append(n)
        self.categories.extend(new)

    # ----- boxes ------------------------------------------------------------------------
    def boxes(self, image: str) -> list[Box]:
        ann = self.images.get(image)
        return list(ann.boxes) if ann else []

    def _ann(self, image: str) -> ImageAnnotations:
        return self.images.setdefault(image, ImageAnnotations())

    def category_set(self) -> frozenset[str]:
        """The category names as a set (an index rebuilt only when the list changed)."""
        cached = getattr(self, "_cat_index", None)
        cats = self.categories
        if cached is None or cached[0] != id(cats) or cached[1] != len(cats):
            cached = (id(cats), len(cats), frozenset(cats))
            self._cat_index = cached
        return cached[2]

    def _check_label(self, label: str) -> str:
        if label not in self.category_set():
            raise CategoryError(f"no category {label!r}")
        return label

    def add_box(
        self,
        image: str,
        box: Box,
        *,
        image_size: tuple[int, int] | None = None,
    ) -> Box:
        """Clip `box` to the image, check the rules against the image's boxes, and add it."""
        self._check_label(box.label)
        if image_size is not None:
            box = box.clipped(*image_size)
        check_box(box, self.boxes(image))
        box = self._unique_id(image, box)
        self._ann(image).boxes.append(box)
        return box

    def _unique_id(self, image: str, box: Box) -> Box:
        """`box` with an id no other box of `image` has (a fresh one when it has none or a taken one)."""
        if box.id and self.index_of(image, box.id) is None:
            return box
        return replace(box, id=new_box_id())

    def add_box_or_flag(self, image: str, box: Box, *, image_size: tuple[int, int] | None = None) -> Box:
        """add_box, but a box that breaks a rule is kept with `flag` set to the rule's name.

        A box that is empty after clipping, or whose label is unknown, still raises.
        """
        try:
            return self.add_box(image, box, image_size=image_size)
        except BoxRejected as exc:
            if image_size is not None:
                box = box.clipped(*image_size)
            if box.width <= 0 or box.height <= 0:
                raise
            flagged = self._unique_id(image, replace(box, flag=exc.rule))
            self._ann(image).boxes.append(flagged)
            return flagged

    def flagged_count(self) -> int:
        return sum(b.flag is not None for a in self.images.values() for b in a.boxes)

    def try_add_boxes(
        self, image: str, boxes: Iterable[Box], *, image_size: tuple[int, int] | None = None
    ) -> tuple[list[Box], list[tuple[Box, BoxRejected]]]:
        """Add each box that obeys the rules; return (added, [(refused box, reason)]).

        The same result as calling add_box box by box, but the overlap rule is checked only
        against boxes an STRtree finds touching, so loading n boxes is O(n log n).
        """
        originals = list(boxes)
        candidates: list[Box] = []
        for b in originals:
            self._check_label(b.label)
            candidates.append(b.clipped(*image_size) if image_size is not None else b)
        ann = self._ann(image)
        existing = list(ann.boxes)
        every = existing + candidates
        near = _earlier_neighbours(every)
        position = {i: i for i in range(len(existing))}  # index in `every` -> number on the image
        added: list[Box] = []
        refused: list[tuple[Box, BoxRejected]] = []
        for k, (orig, b) in enumerate(zip(originals, candidates, strict=True)):
            j = len(existing) + k
            try:
                check_box_shape(b)
                for i in near.get(j, ()):
                    if i not in position:
                        continue
                    ratio = overlap_ratio(b, every[i])
                    if ratio > MAX_OVERLAP:
                        raise BoxRejected(
                            "overlap",
                            f"Box refused: it overlaps box {position[i] + 1} ({every[i].label}) by "
                            f"{ratio:.0%} of the smaller box, more than {MAX_OVERLAP:.0%}.",
                        )
            except BoxRejected as exc:
                refused.append((orig, exc))
                continue
            position[j] = len(ann.boxes)
            b = self._unique_id(image, b)
            ann.boxes.append(b)
            added.append(b)
        return added, refused

    def set_label(self, image: str, index: int, label: str, score: float | None = None) -> Box:
        self._check_label(label)
        ann = self._ann(image)
        if not 0 <= index < len(ann.boxes):
            raise IndexError(f"{image} has no box {index + 1}")
        ann.boxes[index] = ann.boxes[index].with_label(label, score)
        return ann.boxes[index]

    def delete_box(self, image: str, index: int) -> Box:
        ann = self._ann(image)
        if not 0 <= index < len(ann.boxes):
            raise IndexError(f"{image} has no box {index + 1}")
        return ann.boxes.pop(index)

    # ----- boxes by id -------------------------------------------------------------------
    def index_of(self, image: str, box_id: str) -> int | None:
        """The position of the box with id `box_id` on `image`, or None when there is none."""
        ann = self.images.get(image)
        if ann is None or not box_id:
            return None
        return next((i for i, b in enumerate(ann.boxes) if b.id == box_id), None)

    def _index_or_gone(self, image: str, box_id: str) -> int:
        i = self.index_of(image, box_id)
        if i is None:
            raise BoxGone(f"{image}: the box is no longer there (deleted or replaced elsewhere)")
        return i

    def box_by_id(self, image: str, box_id: str) -> Box:
        """The box with this id; BoxGone when it was deleted (another tab, an import)."""
        return self.images[image].boxes[self._index_or_gone(image, box_id)]

    def set_label_by_id(self, image: str, box_id: str, label: str, score: float | None = None) -> Box:
        """Give the box with this id `label`; BoxGone when there is no such box (nothing changes)."""
        return self.set_label(image, self._index_or_gone(image, box_id), label, score)

    def delete_box_by_id(self, image: str, box_id: str) -> Box:
        """Delete the box with this id; BoxGone when there is no such box (nothing changes)."""
        return self.delete_box(image, self._index_or_gone(image, box_id))

    def remove_image(self, image: str) -> None:
        self.images.pop(image, None)

    # ----- summaries --------------------------------------------------------------------
    def label_counts(self) -> dict[str, int]:
        counts = {c: 0 for c in self.categories}
        for ann in self.images.values():
            for b in ann.boxes:
                counts[b.label] = counts.get(b.label, 0) + 1
        return counts

    def copy(self) -> Annotations:
        return Annotations(
            self.categories,
            {k: ImageAnnotations(list(v.boxes), dict(v.extra)) for k, v in self.images.items()},
            dict(self.extra),
        )
