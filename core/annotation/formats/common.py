"""What every annotation format shares: reading a file (FormatError when it cannot be read),
JSON file bytes, checked image names, checked boxes, an import report."""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from core.annotation.annotations import (
    NONE,
    Annotations,
    Box,
    ImageAnnotations,
    has_surrogates,
    validate_category_name,
)
from core.errors import BoxRejected, CategoryError, FormatError
from core.fsutil import natural_key
from core.geometry import XYXY
from core.imaging import MAX_PIXELS

#: Longest image name accepted, in UTF-8 bytes: file systems allow 255, and a stored copy may
#: need a numbered suffix (`_12`).
MAX_IMAGE_NAME_BYTES = 200
#: Largest coordinate or image side accepted, ints and floats alike: no image Mask Studio loads
#: has a side longer than its pixel limit (core.imaging.MAX_PIXELS), so no box can reach past it.
MAX_COORDINATE = float(MAX_PIXELS)


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the file at `path`; FormatError naming the file when it cannot be read."""
    p = Path(path)
    try:
        return p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read ({exc.strerror or exc})", file=p.name) from exc


def json_bytes(data: Any, *, indent: int | None = 2) -> bytes:
    """`data` as a UTF-8 JSON file: non-ASCII kept, NaN refused, a final newline."""
    return (json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class RawBox(XYXY):
    """A box as read from a file (x1, y1, x2, y2 as the file wrote them), before the project's
    rules are applied."""

    label: str
    score: float | None = None
    flag: str | None = None  # a rule the file already marks this box as breaking (seed JSON)
    box_id: str = ""  # the box's id in the file (seed JSON); "" gives it a fresh one


#: How an import treats boxes that break the box rules.
RULES_APPLY = "apply"  # skip them (and list them)
RULES_FLAG = "flag"  # keep them all, flagged with the rule they break
RULE_MODES = (RULES_APPLY, RULES_FLAG)

#: Kinds of data an import can drop, as counted in ImportResult.dropped.
DROP_KINDS = {
    "rule_breakers": "boxes that break the box rules",
    "crowd": "crowd regions (iscrowd)",
    "segmentation": "segmentation masks or polygons (the box is kept)",
    "attributes": "attributes (the box is kept)",
    "keypoints": "keypoints (the box is kept)",
    "difficult": "VOC difficult marks (the box is kept)",
    "truncated": "VOC truncated marks (the box is kept)",
    "occluded": "VOC occluded marks (the box is kept)",
    "pose": "VOC poses (the box is kept)",
    "part": "VOC parts",
    "duplicate_annotator": "boxes of another annotator (one annotator picked)",
}


@dataclass
class ImportResult:
    """Annotations built from a file, the boxes skipped, and counts of what was dropped.

    `dropped` counts per DROP_KINDS key; `notes` say how the file was read (folders stripped,
    writer detected, ...); `annotators` is the most entries one image had (Label Studio writes
    one per annotator).
    """

    annotations: Annotations
    skipped: list[str] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    annotators: int = 1

    @property
    def box_count(self) -> int:
        return sum(len(a.boxes) for a in self.annotations.images.values())

    @property
    def flagged_count(self) -> int:
        return self.annotations.flagged_count()

    def summary(self) -> str:
        """One line: what was imported, kept flagged and dropped, with counts per kind."""
        ann = self.annotations
        parts = [f"{self.box_count} boxes on {len(ann.images)} images"]
        if self.flagged_count:
            parts.append(f"{self.flagged_count} kept but flagged as breaking a box rule")
        dropped = [f"{n} {DROP_KINDS.get(k, k)}" for k, n in sorted(self.dropped.items()) if n]
        if dropped:
            parts.append("dropped: " + "; ".join(dropped))
        return ", ".join(parts) + "."


def check_rule_mode(rules: str) -> str:
    if rules not in RULE_MODES:
        raise FormatError(f"unknown rule mode {rules!r}; use one of {', '.join(RULE_MODES)}")
    return rules


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


_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")


def base_image_name(name: Any, *, file: str, known: Iterable[str] = ()) -> str:
    """The plain file name an image path from another tool refers to.

    Folders are stripped (`images/IMG_1.jpg`, `C:\\data\\IMG_1.jpg` -> `IMG_1.jpg`), and so is
    Label Studio's upload prefix (`4f2c9d1a-IMG_1.jpg`) when the name without it is one of the
    `known` images (those of the project) and the name with it is not.
    """
    if not isinstance(name, str) or not name.strip():
        raise FormatError("image name must be non-empty text", file=file, image=str(name))
    base = PureWindowsPath(PurePosixPath(name.replace("\\", "/")).name).name
    known_set = known if isinstance(known, (set, frozenset, dict)) else set(known)
    m = _UPLOAD_PREFIX.match(base)
    if m and base not in known_set and m.group(1) in known_set:
        base = m.group(1)
    return check_image_name(base, file=file)


def check_number(value: Any, *, file: str, image: str, fld: str) -> float:
    """A finite int or float no larger than MAX_COORDINATE in size, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"expected a number, got {_short(value)}", file=file, image=image, field=fld)
    if isinstance(value, float) and not math.isfinite(value):
        raise FormatError(f"expected a finite number, got {value!r}", file=file, image=image, field=fld)
    return check_magnitude(value, file=file, image=image, fld=fld)


def number_from_text(text: str, *, file: str, image: str, fld: str) -> float:
    """A number written as text (VOC, YOLO), checked as check_number checks one: finite and
    within ±MAX_COORDINATE."""
    try:
        value = float(text)
    except ValueError as exc:
        raise FormatError(f"expected a number, got {text!r}", file=file, image=image, field=fld) from exc
    if not math.isfinite(value):
        raise FormatError(f"expected a finite number, got {text!r}", file=file, image=image, field=fld)
    return check_magnitude(value, file=file, image=image, fld=fld)


def check_magnitude(value: float, *, file: str, image: str, fld: str) -> float:
    """`value` (finite or not, int or float) when it lies within ±MAX_COORDINATE; else FormatError.
    Floats of any size are refused as ints are: past that no image holds them."""
    if value != value or abs(value) > MAX_COORDINATE:  # NaN, infinities and huge numbers
        raise FormatError(
            f"number out of range: {_short(value, 40)} (image limits: ±{MAX_COORDINATE:.0e} pixels)",
            file=file,
            image=image,
            field=fld,
        )
    return float(value)


def check_score(value: Any, *, file: str, image: str, fld: str) -> float:
    """A detection score: a finite number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"expected a number, got {_short(value)}", file=file, image=image, field=fld)
    if not (isinstance(value, int) or math.isfinite(value)) or not 0 <= value <= 1:
        raise FormatError(
            f"a score must be a number from 0 to 1, got {_short(value, 40)}",
            file=file,
            image=image,
            field=fld,
        )
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
    rules: str = RULES_APPLY,
) -> ImportResult:
    """Apply the box rules image by image.

    With `rules="apply"` boxes that break them are skipped and reported; with `"flag"` they are
    kept with the rule they break. Boxes the file already flags are kept flagged either way
    (they were kept on purpose). Boxes that are empty inside the image are always skipped.
    """
    check_rule_mode(rules)
    ann = Annotations(categories, extra=top_extra)
    known = ann.category_set()
    skipped: list[str] = []
    dropped: Counter[str] = Counter()
    for name, raw_boxes in images.items():
        ann.images[name] = ImageAnnotations([], dict((extras or {}).get(name, {})))
        size = (sizes or {}).get(name)
        parsed: list[tuple[int, Box, str | None]] = []  # (index in the file, box, flag in the file)
        problems: list[tuple[int, str]] = []
        for i, rb in enumerate(raw_boxes):
            label = rb.label if rb.label in known else NONE
            try:
                parsed.append((i, Box.from_xyxy(rb, label, rb.score, rb.box_id), rb.flag))
            except BoxRejected as exc:
                problems.append((i, exc.message))
        if rules == RULES_FLAG or any(flag is not None for _, _, flag in parsed):
            # box by box, in file order: a kept rule breaker is checked against like any box
            for i, box, flag in parsed:
                try:
                    if rules == RULES_FLAG or flag is not None:
                        ann.add_box_or_flag(name, box, image_size=size)
                    else:
                        ann.add_box(name, box, image_size=size)
                except BoxRejected as exc:
                    problems.append((i, exc.message))
        else:
            numbers = {id(box): i for i, box, _ in parsed}
            _, refused = ann.try_add_boxes(name, [box for _, box, _ in parsed], image_size=size)
            problems += [(numbers[id(box)], exc.message) for box, exc in refused]
        if problems:
            dropped["rule_breakers"] += len(problems)
        for i, message in sorted(problems, key=lambda p: p[0]):
            skipped.append(f"{name} box {i + 1} {list(raw_boxes[i].xyxy)}: {message}")
    return ImportResult(ann, skipped, dropped)
