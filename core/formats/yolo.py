"""YOLO text labels: one `<image stem>.txt` per image plus `classes.txt`.

Each line is `class cx cy w h`, the centre and size normalised by the image width and height,
6 decimals; a 6th column is the score when a box has one (the Ultralytics `save_conf` layout).
`classes.txt` lists every category, one per line, line number = class index, `"None"` first:
that keeps `"None"` boxes and unused categories through a round trip. Six decimals are exact to
the pixel for images up to 100 000 px wide, so a 4000 x 3000 round trip gives the same boxes.

Pixels are needed both ways, so both directions take `sizes` ({image name: (width, height)});
on import a label file is matched to its image by stem (`IMG_1.txt` -> `IMG_1.JPG`).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from core.annotations import Annotations, Box
from core.errors import FormatError
from core.formats.common import ImportResult, RawBox, build_annotations, check_categories, exportable_images
from core.fsutil import atomic_write_bytes, finite_number, natural_key

CLASSES_FILE = "classes.txt"
_EPS = 1e-6  # tolerance for normalised values written as 1.0000001 and the like


def _stem(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).stem


def _stems(names: list[str]) -> dict[str, str]:
    """{stem: name}; FormatError when two names share a stem (YOLO cannot tell them apart)."""
    out: dict[str, str] = {}
    for name in sorted(names, key=natural_key):
        stem = _stem(name)
        if stem in out:
            raise FormatError(f"{out[stem]} and {name} share the stem {stem!r}", image=name, field="name")
        out[stem] = name
    return out


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def yolo_lines(boxes: list[Box], size: tuple[int, int], index: dict[str, int]) -> str:
    """The label file text for `boxes` in an image of `size` (width, height)."""
    w, h = size
    lines = []
    for b in boxes:
        cols = [
            str(index[b.label]),
            _fmt((b.x1 + b.x2) / 2 / w),
            _fmt((b.y1 + b.y2) / 2 / h),
            _fmt(b.width / w),
            _fmt(b.height / h),
        ]
        if b.score is not None and finite_number(b.score):
            cols.append(_fmt(float(b.score)))
        lines.append(" ".join(cols))
    return "".join(f"{line}\n" for line in lines)


def dumps_yolo(ann: Annotations, sizes: dict[str, tuple[int, int]]) -> dict[str, bytes]:
    """{"classes.txt": ..., "IMG_1.txt": ...}: a label file per image (see exportable_images)."""
    index = {c: i for i, c in enumerate(ann.categories)}
    out = {CLASSES_FILE: "".join(f"{c}\n" for c in ann.categories).encode("utf-8")}
    for stem, image in _stems(exportable_images(ann, sizes)).items():
        if f"{stem}.txt" == CLASSES_FILE:
            raise FormatError(f"an image cannot be named like {CLASSES_FILE}", image=image)
        out[f"{stem}.txt"] = yolo_lines(ann.images[image].boxes, sizes[image], index).encode("utf-8")
    return out


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError("not UTF-8 text", file=file) from exc


def parse_classes(data: bytes, *, file: str = CLASSES_FILE) -> list[str]:
    """The category names of a classes.txt (blank trailing lines ignored)."""
    lines = _decode(data, file).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise FormatError("no class names", file=file)
    return check_categories(lines, file=file, fld="line")


def _number(token: str, *, file: str, image: str, fld: str) -> float:
    try:
        value = float(token)
    except ValueError as exc:
        raise FormatError(f"expected a number, got {token!r}", file=file, image=image, field=fld) from exc
    if value != value or abs(value) == float("inf"):
        raise FormatError(f"expected a finite number, got {token!r}", file=file, image=image, field=fld)
    return value


def parse_label_file(
    data: bytes, *, file: str, image: str, size: tuple[int, int], classes: list[str]
) -> list[RawBox]:
    """Raw pixel boxes from one label file."""
    w, h = size
    boxes: list[RawBox] = []
    for n, line in enumerate(_decode(data, file).splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        fld = f"line {n}"
        if len(tokens) not in (5, 6):
            raise FormatError(
                f"expected 'class cx cy w h [score]', got {line!r}", file=file, image=image, field=fld
            )
        if not (tokens[0].isascii() and tokens[0].isdigit()) or int(tokens[0]) >= len(classes):
            raise FormatError(
                f"class {tokens[0]!r} is not an index below {len(classes)}", file=file, image=image, field=fld
            )
        cx, cy, bw, bh = (_number(t, file=file, image=image, fld=fld) for t in tokens[1:5])
        if bw <= 0 or bh <= 0:
            raise FormatError("width and height must be positive", file=file, image=image, field=fld)
        x1, y1, x2, y2 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
        if min(x1, y1) < -_EPS or max(x2, y2) > 1 + _EPS:
            raise FormatError("box is not inside the image (0..1)", file=file, image=image, field=fld)
        score = _number(tokens[5], file=file, image=image, fld=fld) if len(tokens) == 6 else None
        xyxy = (max(x1 * w, 0.0), max(y1 * h, 0.0), min(x2 * w, w), min(y2 * h, h))
        boxes.append(RawBox(xyxy, classes[int(tokens[0])], score))
    return boxes


def loads_yolo(files: dict[str, bytes], sizes: dict[str, tuple[int, int]]) -> ImportResult:
    """Annotations from {file name: bytes} holding classes.txt and label files.

    Every label file must match an image in `sizes` by stem; other files are ignored.
    """
    by_name = {PurePosixPath(k.replace("\\", "/")).name: k for k in files}
    if CLASSES_FILE not in by_name:
        raise FormatError(f"{CLASSES_FILE} is missing", file=CLASSES_FILE)
    classes = parse_classes(files[by_name[CLASSES_FILE]], file=by_name[CLASSES_FILE])
    images: dict[str, list[str]] = {}
    for name in sizes:
        images.setdefault(_stem(name), []).append(name)
    raw: dict[str, list[RawBox]] = {}
    for key in sorted(files, key=natural_key):
        if not key.lower().endswith(".txt") or key == by_name[CLASSES_FILE]:
            continue
        matches = images.get(_stem(key), [])
        if len(matches) != 1:
            why = "no image with this name" if not matches else f"several images match: {sorted(matches)}"
            raise FormatError(why, file=key)
        image = matches[0]
        if image in raw:
            raise FormatError("a second label file for this image", file=key, image=image)
        raw[image] = parse_label_file(files[key], file=key, image=image, size=sizes[image], classes=classes)
    return build_annotations(classes, raw, sizes=sizes)


def load_yolo_dir(folder: str | os.PathLike[str], sizes: dict[str, tuple[int, int]]) -> ImportResult:
    """Annotations from classes.txt and the *.txt label files in `folder`."""
    files: dict[str, bytes] = {}
    for p in Path(folder).glob("*.txt"):
        try:
            files[p.name] = p.read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read ({exc.strerror or exc})", file=p.name) from exc
    return loads_yolo(files, sizes)


def save_yolo_dir(
    ann: Annotations, sizes: dict[str, tuple[int, int]], folder: str | os.PathLike[str]
) -> list[Path]:
    """Write classes.txt and one label file per image into `folder`, atomically each."""
    return [atomic_write_bytes(Path(folder) / name, data) for name, data in dumps_yolo(ann, sizes).items()]
