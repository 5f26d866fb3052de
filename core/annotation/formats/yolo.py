"""YOLO text labels: one `<image stem>.txt` per image, `class cx cy w h` normalised, 6 decimals,
and the export (reading them: core.annotation.formats.yolo_import).

Export writes an Ultralytics-ready dataset (`dumps_yolo_dataset`): `images/{train,val}/`,
`labels/{train,val}/` and `data.yaml`. Class indices follow the project's category order with
"None" left out, unless asked for, then last, so indices do not move; scores are not written
(Ultralytics wants 5 columns). `dumps_yolo` keeps the flat layout (`classes.txt` plus one txt
per image, with a 6th score column when a box has one, the Ultralytics `save_conf` layout).
Six decimals are exact to the pixel for images up to 100 000 px wide.

Pixels are needed both ways, so both directions take `sizes` ({image name: (width, height)}).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from core.annotation.annotations import NONE, Annotations, Box
from core.annotation.formats.common import (
    exportable_images,
)
from core.errors import FormatError
from core.fsutil import atomic_write_bytes, finite_number, natural_key

CLASSES_FILE = "classes.txt"
DATA_YAML = "data.yaml"
SPLITS = ("train", "val")


def label_stem(name: str) -> str:
    """The stem a label file and its image share (`a/b/IMG_1.jpg` -> `IMG_1`)."""
    return PurePosixPath(name.replace("\\", "/")).stem


def _stems(names: list[str]) -> dict[str, str]:
    """{stem: name}; FormatError when two names share a stem (YOLO cannot tell them apart)."""
    out: dict[str, str] = {}
    for name in sorted(names, key=natural_key):
        stem = label_stem(name)
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


def class_names(ann: Annotations, *, include_none: bool = False) -> list[str]:
    """Class names by index: the project's order, "None" left out or (if asked for) last."""
    return [c for c in ann.categories if c != NONE] + ([NONE] if include_none else [])


def _boxes(ann: Annotations, image: str, index: dict[str, int], scores: bool) -> list[Box]:
    return [b if scores else b.with_label(b.label) for b in ann.images[image].boxes if b.label in index]


def dumps_yolo(
    ann: Annotations, sizes: dict[str, tuple[int, int]], *, include_none: bool = False
) -> dict[str, bytes]:
    """{"classes.txt": ..., "IMG_1.txt": ...}: a label file per image (see exportable_images)."""
    names = class_names(ann, include_none=include_none)
    index = {c: i for i, c in enumerate(names)}
    out = {CLASSES_FILE: "".join(f"{c}\n" for c in names).encode("utf-8")}
    for stem, image in _stems(exportable_images(ann, sizes)).items():
        if f"{stem}.txt" == CLASSES_FILE:
            raise FormatError(f"an image cannot be named like {CLASSES_FILE}", image=image)
        out[f"{stem}.txt"] = yolo_lines(_boxes(ann, image, index, True), sizes[image], index).encode("utf-8")
    return out


def split_images(names: list[str], val_fraction: float = 0.0, seed: int = 0) -> dict[str, str]:
    """{image: "train" or "val"}: a seeded random `val_fraction` of `names` goes to val."""
    if not 0.0 <= val_fraction < 1.0:
        raise FormatError(f"the val fraction must be in [0, 1), got {val_fraction}")
    order = sorted(names, key=natural_key)
    random.Random(seed).shuffle(order)
    n_val = round(len(order) * val_fraction)
    if val_fraction > 0 and len(order) > 1:
        n_val = min(max(n_val, 1), len(order) - 1)
    val = set(order[:n_val])
    return {n: "val" if n in val else "train" for n in names}


def data_yaml(names: list[str], has_val: bool) -> bytes:
    """The Ultralytics data.yaml; paths are relative to the file (no `path:` key)."""
    lines = [
        "# Ultralytics YOLO dataset written by Mask Studio. Paths are relative to this file.",
        "train: images/train",
        f"val: images/{'val' if has_val else 'train'}",
        f"nc: {len(names)}",
        "names:",
        *(f"  {i}: {json.dumps(n, ensure_ascii=False)}" for i, n in enumerate(names)),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def dumps_yolo_dataset(
    ann: Annotations,
    sizes: dict[str, tuple[int, int]],
    *,
    split: dict[str, str] | None = None,
    include_none: bool = False,
    read_image: Callable[[str], bytes] | None = None,
) -> dict[str, bytes]:
    """An Ultralytics dataset: `data.yaml`, `labels/<split>/<stem>.txt`, `images/<split>/<name>`.

    `split` maps images to "train" or "val" (default: all train, see split_images); images are
    written only with `read_image` (name -> bytes).
    """
    names = class_names(ann, include_none=include_none)
    index = {c: i for i, c in enumerate(names)}
    split = split or {}
    out: dict[str, bytes] = {}
    for stem, image in _stems(exportable_images(ann, sizes)).items():
        part = split.get(image, "train")
        if part not in SPLITS:
            raise FormatError(f"unknown split {part!r}; use train or val", image=image)
        out[f"labels/{part}/{stem}.txt"] = yolo_lines(
            _boxes(ann, image, index, False), sizes[image], index
        ).encode("utf-8")
        if read_image is not None:
            out[f"images/{part}/{image}"] = read_image(image)
    out[DATA_YAML] = data_yaml(names, any(k.startswith("labels/val/") for k in out))
    return out


def save_yolo_dir(
    ann: Annotations,
    sizes: dict[str, tuple[int, int]],
    folder: str | os.PathLike[str],
    *,
    include_none: bool = False,
) -> list[Path]:
    """Write classes.txt and one label file per image into `folder`, atomically each."""
    files = dumps_yolo(ann, sizes, include_none=include_none)
    return [atomic_write_bytes(Path(folder) / name, data) for name, data in files.items()]
