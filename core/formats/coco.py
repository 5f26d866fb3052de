"""COCO detection JSON: images, categories and bbox annotations in one file.

    {"images": [{"id": 1, "file_name": "IMG_1.JPG", "width": 4000, "height": 3000}],
     "categories": [{"id": 1, "name": "None"}, {"id": 2, "name": "mask"}],
     "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [x, y, w, h],
                      "area": w * h, "iscrowd": 0, "score": 0.91}]}

"None" is written as an ordinary category (id 1; ids are the category index + 1, since many
tools treat 0 as background), so "None" boxes and unused categories survive a round trip.
`score` is written only for boxes that have one (the COCO results layout). Crowd annotations
(`iscrowd: 1`) are region masks, not faces: they are skipped and reported. Seed-only fields
(`dst`, `src`, `destinations`) are not carried.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.annotations import Annotations
from core.errors import FormatError
from core.formats.common import (
    ImportResult,
    RawBox,
    build_annotations,
    check_categories,
    check_image_name,
    check_number,
    exportable_images,
)
from core.formats.seed_json import parse_json_text
from core.fsutil import atomic_write_bytes, finite_number

DEFAULT_FILE = "annotations.coco.json"


def to_coco_dict(ann: Annotations, sizes: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The COCO dict for `ann`; `sizes` maps images to (width, height) (see exportable_images)."""
    cat_id = {c: i + 1 for i, c in enumerate(ann.categories)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, name in enumerate(exportable_images(ann, sizes), start=1):
        width, height = sizes[name]
        images.append({"id": image_id, "file_name": name, "width": int(width), "height": int(height)})
        for b in ann.images[name].boxes:
            entry: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": cat_id[b.label],
                "bbox": [b.x1, b.y1, b.width, b.height],
                "area": b.area,
                "iscrowd": 0,
            }
            if b.score is not None and finite_number(b.score):
                entry["score"] = float(b.score)
            annotations.append(entry)
    return {
        "info": {"description": "Mask Studio export"},
        "licenses": [],
        "images": images,
        "categories": [{"id": cat_id[c], "name": c, "supercategory": "face"} for c in ann.categories],
        "annotations": annotations,
    }


def _list(data: dict[str, Any], key: str, file: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise FormatError("must be a list of objects", file=file, field=key)
    return value


def _id(value: Any, *, file: str, fld: str, image: str = "") -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FormatError(
            f"an id must be an integer or text, got {value!r}", file=file, image=image, field=fld
        )
    return value


def _categories(data: dict[str, Any], file: str) -> dict[int | str, str]:
    entries = _list(data, "categories", file)
    if not entries:
        raise FormatError("missing or empty", file=file, field="categories")
    names = check_categories([e.get("name") for e in entries], file=file)
    out: dict[int | str, str] = {}
    for i, (entry, name) in enumerate(zip(entries, names, strict=True)):
        cid = _id(entry.get("id"), file=file, fld=f"categories[{i}].id")
        if cid in out:
            raise FormatError(f"duplicate category id {cid!r}", file=file, field=f"categories[{i}].id")
        out[cid] = name
    return out


def _size_value(value: Any, *, file: str, image: str, fld: str) -> int:
    number = check_number(value, file=file, image=image, fld=fld)
    if number <= 0 or number != int(number):
        raise FormatError(
            f"must be a positive whole number, got {value!r}", file=file, image=image, field=fld
        )
    return int(number)


def _images(data: dict[str, Any], file: str) -> tuple[dict[int | str, str], dict[str, tuple[int, int]]]:
    names: dict[int | str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for i, entry in enumerate(_list(data, "images", file)):
        iid = _id(entry.get("id"), file=file, fld=f"images[{i}].id")
        name = check_image_name(entry.get("file_name"), file=file)
        if iid in names:
            raise FormatError(f"duplicate image id {iid!r}", file=file, image=name, field=f"images[{i}].id")
        if name in sizes:
            raise FormatError("listed twice", file=file, image=name, field=f"images[{i}].file_name")
        names[iid] = name
        sizes[name] = (
            _size_value(entry.get("width"), file=file, image=name, fld=f"images[{i}].width"),
            _size_value(entry.get("height"), file=file, image=name, fld=f"images[{i}].height"),
        )
    return names, sizes


def from_coco_dict(data: Any, *, file: str = DEFAULT_FILE) -> ImportResult:
    """Validate a COCO dict and build annotations. Raises FormatError on bad structure."""
    if not isinstance(data, dict):
        raise FormatError("top level must be an object with images, categories, annotations", file=file)
    categories = _categories(data, file)
    names, sizes = _images(data, file)
    raw: dict[str, list[RawBox]] = {name: [] for name in names.values()}
    crowd: list[str] = []
    for i, entry in enumerate(_list(data, "annotations", file)):
        fld = f"annotations[{i}]"
        iid = _id(entry.get("image_id"), file=file, fld=f"{fld}.image_id")
        if iid not in names:
            raise FormatError(f"unknown image_id {iid!r}", file=file, field=f"{fld}.image_id")
        image = names[iid]
        cid = _id(entry.get("category_id"), file=file, fld=f"{fld}.category_id", image=image)
        if cid not in categories:
            raise FormatError(
                f"unknown category_id {cid!r}", file=file, image=image, field=f"{fld}.category_id"
            )
        bbox = entry.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise FormatError(
                f"bbox must be [x, y, w, h], got {bbox!r}", file=file, image=image, field=f"{fld}.bbox"
            )
        x, y, w, h = (check_number(v, file=file, image=image, fld=f"{fld}.bbox") for v in bbox)
        if x < 0 or y < 0:
            raise FormatError(f"negative coordinate in {bbox!r}", file=file, image=image, field=f"{fld}.bbox")
        if w <= 0 or h <= 0:
            raise FormatError(f"empty or inverted box {bbox!r}", file=file, image=image, field=f"{fld}.bbox")
        score = entry.get("score")
        if score is not None:
            score = check_number(score, file=file, image=image, fld=f"{fld}.score")
        if entry.get("iscrowd", 0) not in (0, False):
            crowd.append(f"{image} annotation {i + 1} {bbox}: crowd region (iscrowd), not a face box")
            continue
        raw[image].append(RawBox((x, y, x + w, y + h), categories[cid], score))
    result = build_annotations(list(categories.values()), raw, sizes=sizes)
    result.skipped.extend(crowd)
    return result


def loads_coco(text: str | bytes, *, file: str = DEFAULT_FILE) -> ImportResult:
    """Validate COCO JSON text (an upload)."""
    return from_coco_dict(parse_json_text(text, file=file), file=file)


def dumps_coco(ann: Annotations, sizes: dict[str, tuple[int, int]]) -> bytes:
    """COCO JSON bytes for `ann` (a download)."""
    return (
        json.dumps(to_coco_dict(ann, sizes), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode()


def load_coco(path: str | os.PathLike[str]) -> ImportResult:
    """Read and validate a COCO JSON file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read ({exc.strerror or exc})", file=p.name) from exc
    return loads_coco(data, file=p.name)


def save_coco(ann: Annotations, sizes: dict[str, tuple[int, int]], path: str | os.PathLike[str]) -> Path:
    """Write `ann` as COCO JSON atomically."""
    return atomic_write_bytes(path, dumps_coco(ann, sizes))
