"""What every annotation importer shares: checked image names, checked boxes, an import report."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from core.annotations import (
    NONE,
    Annotations,
    Box,
    ImageAnnotations,
    has_surrogates,
    validate_category_name,
)
from core.errors import BoxRejected, CategoryError, FormatError
from core.fsutil import natural_key

#: Longest image name accepted, in UTF-8 bytes: file systems allow 255, and a stored copy may
#: need a numbered suffix (`_12`).
MAX_IMAGE_NAME_BYTES = 200
#: Largest coordinate accepted (a million pixels is far beyond any image Mask Studio loads).
MAX_COORDINATE = 1e9


@dataclass
class RawBox:
    """A box as read from a file, before the project's rules are applied."""

    xyxy: tuple[float, float, float, float]
    label: str
    score: float | None = None


@dataclass
class ImportResult:
    """Annotations built from a file, plus the boxes that broke the rules and were skipped."""

    annotations: Annotations
    skipped: list[str] = field(default_factory=list)

    @property
    def box_count(self) -> int:
        return sum(len(a.boxes) for a in self.annotations.images.values())


def check_image_name(name: Any, *, file: str) -> str:
    """A plain file name (no folders, no `..`): imports never point outside the project."""
    if not isinstance(name, str) or not name.strip():
        raise FormatError("image name must be non-empty text", file=file, image=str(name))
    if (
        PurePosixPath(name).name != name
        or PureWindowsPath(name).name != name
        or name in {".", ".."}
        or "\x00" in name
    ):
        raise FormatError("image name must be a plain file name, without folders", file=file, image=name)
    if has_surrogates(name):
        raise FormatError("image name holds a lone surrogate (invalid Unicode)", file=file, image=ascii(name))
    size = len(name.encode("utf-8"))
    if size > MAX_IMAGE_NAME_BYTES:
        raise FormatError(
            f"image name is {size} bytes long; the limit is {MAX_IMAGE_NAME_BYTES} bytes (UTF-8)",
            file=file,
            image=name[:60] + "…",
        )
    return name


def check_number(value: Any, *, file: str, image: str, fld: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"expected a number, got {_short(value)}", file=file, image=image, field=fld)
    if isinstance(value, int) and abs(value) > MAX_COORDINATE:
        raise FormatError(
            f"number too large (more than {MAX_COORDINATE:.0e})", file=file, image=image, field=fld
        )
    if not math.isfinite(value):
        raise FormatError(f"expected a finite number, got {value!r}", file=file, image=image, field=fld)
    return float(value)


def _short(value: Any, limit: int = 80) -> str:
    """repr of `value`, cut to `limit` characters (a message never quotes a whole file)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "…"


def check_xyxy(values: Any, *, file: str, image: str, fld: str) -> tuple[float, float, float, float]:
    """Four finite, non-negative numbers with x1 < x2 and y1 < y2."""
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        raise FormatError(
            f"a box needs 4 numbers [x1, y1, x2, y2], got {values!r}", file=file, image=image, field=fld
        )
    x1, y1, x2, y2 = (check_number(v, file=file, image=image, fld=fld) for v in values)
    if min(x1, y1, x2, y2) < 0:
        raise FormatError(f"negative coordinate in {values!r}", file=file, image=image, field=fld)
    if x2 <= x1 or y2 <= y1:
        raise FormatError(
            f"inverted or empty box {values!r} (need x1 < x2 and y1 < y2)", file=file, image=image, field=fld
        )
    return (x1, y1, x2, y2)


def check_categories(values: Any, *, file: str, fld: str = "categories") -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise FormatError("categories must be a list of names", file=file, field=fld)
    out: list[str] = []
    seen: set[str] = set()
    for i, v in enumerate(values):
        try:
            name = validate_category_name(v)
        except CategoryError as exc:
            raise FormatError(str(exc), file=file, field=f"{fld}[{i}]") from exc
        if name in seen:
            raise FormatError(f"duplicate category {name!r}", file=file, field=f"{fld}[{i}]")
        seen.add(name)
        out.append(name)
    return out


def exportable_images(ann: Annotations, sizes: dict[str, tuple[int, int]]) -> list[str]:
    """Images an export that needs sizes writes, in natural order: those with a size in `sizes`.

    An image without boxes and without a known size is left out (nothing is lost); an image
    with boxes but no size raises FormatError, as its boxes could not be written.
    """
    names = sorted(ann.images, key=natural_key)
    for name in names:
        if name not in sizes and ann.images[name].boxes:
            raise FormatError("image size unknown, cannot export its boxes", image=name, field="size")
    return [n for n in names if n in sizes]


def build_annotations(
    categories: Iterable[str],
    images: dict[str, list[RawBox]],
    *,
    extras: dict[str, dict[str, Any]] | None = None,
    top_extra: dict[str, Any] | None = None,
    sizes: dict[str, tuple[int, int]] | None = None,
) -> ImportResult:
    """Apply the box rules image by image; boxes that break them are skipped and reported."""
    ann = Annotations(categories, extra=top_extra)
    known = ann.category_set()
    skipped: list[str] = []
    for name, raw_boxes in images.items():
        ann.images[name] = ImageAnnotations([], dict((extras or {}).get(name, {})))
        size = (sizes or {}).get(name)
        boxes: list[Box] = []
        numbers: dict[int, int] = {}  # id(box) -> its index in the file
        problems: list[tuple[int, str]] = []
        for i, rb in enumerate(raw_boxes):
            label = rb.label if rb.label in known else NONE
            try:
                box = Box.from_xyxy(rb.xyxy, label, rb.score)
            except BoxRejected as exc:
                problems.append((i, exc.message))
                continue
            numbers[id(box)] = i
            boxes.append(box)
        _, refused = ann.try_add_boxes(name, boxes, image_size=size)
        problems += [(numbers[id(box)], exc.message) for box, exc in refused]
        for i, message in sorted(problems, key=lambda p: p[0]):
            skipped.append(f"{name} box {i + 1} {list(raw_boxes[i].xyxy)}: {message}")
    return ImportResult(ann, skipped)
