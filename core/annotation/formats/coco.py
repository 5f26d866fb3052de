"""COCO detection JSON: images, categories and bbox annotations in one file.

    {"images": [{"id": 1, "file_name": "IMG_1.JPG", "width": 4000, "height": 3000}],
     "categories": [{"id": 1, "name": "mask", "supercategory": "face"}],
     "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [x, y, w, h],
                      "area": w * h, "iscrowd": 0, "segmentation": [], "score": 0.91}]}

Import: the source image ids (per image, as `coco_id`) and categories with their ids and
supercategories (`coco_categories`) are kept in the project's seed file, so an export writes
them back and can be scored against its source. File names with folders (`images/IMG_1.jpg`, as
Label Studio writes them) are matched by base name, and Label Studio's upload prefix is dropped
when the project knows the image without it. An image listed more than once (Label Studio: one
entry per annotator) is merged, or one annotator is picked. Crowd regions are skipped; the box of
an annotation with segmentation, attributes or keypoints is kept and the rest counted as dropped.

Export: categories keep their source ids; others get the next free ids (or, with no COCO source,
their position in the category list, "None" being 0 and left out unless asked for, then last).
`score` is written only for boxes that have one (the COCO results layout). Seed-only fields
(`dst`, `src`, `destinations`) are not carried.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeGuard

from core.annotation.annotations import NONE, Annotations
from core.annotation.formats.archive import zip_files
from core.annotation.formats.common import (
    RULES_APPLY,
    ImportResult,
    RawBox,
    base_image_name,
    build_annotations,
    check_categories,
    check_magnitude,
    check_number,
    check_score,
    exportable_images,
    json_bytes,
    read_file_bytes,
)
from core.annotation.formats.seed_json import parse_json_text
from core.errors import FormatError
from core.fsutil import atomic_write_bytes, finite_number

DEFAULT_FILE = "annotations.coco.json"
#: Keys under which a COCO source's ids are kept in the seed file.
IMAGE_ID_KEY = "coco_id"
CATEGORIES_KEY = "coco_categories"
#: How an image listed more than once is read: "merge", or the 1-based annotator to keep.
MERGE = "merge"


def _source_categories(ann: Annotations) -> dict[str, tuple[int | str, str]]:
    """{name: (source id, supercategory)} kept from a COCO import (malformed entries ignored)."""
    out: dict[str, tuple[int | str, str]] = {}
    entries = ann.extra.get(CATEGORIES_KEY)
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and isinstance(e.get("name"), str) and _is_id(e.get("id")):
            sup = e.get("supercategory")
            out.setdefault(e["name"], (e["id"], sup if isinstance(sup, str) else e["name"]))
    return out


def _is_id(value: Any) -> TypeGuard[int | str]:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _next_int(used: Iterable[Any]) -> int:
    return max((v for v in used if isinstance(v, int) and not isinstance(v, bool)), default=0) + 1


def category_ids(ann: Annotations, *, include_none: bool = False) -> dict[str, tuple[int | str, str]]:
    """{category: (COCO id, supercategory)} in export order ("None" last, only if asked for)."""
    source = _source_categories(ann)
    names = [c for c in ann.categories if c != NONE] + ([NONE] if include_none else [])
    position = {name: i for i, name in enumerate(ann.categories)}
    out: dict[str, tuple[int | str, str]] = {}
    used: set[int | str] = set()
    for name in names:
        if name in source and source[name][0] not in used:
            out[name] = source[name]
            used.add(source[name][0])
    nxt = _next_int(used)  # kept one past the largest integer id in use: linear in the categories
    for name in names:
        if name in out:
            continue
        idx = position[name]
        cid: int | str = idx if not source and name != NONE and idx not in used else nxt
        out[name] = (cid, "face" if not source else name)
        used.add(cid)
        if isinstance(cid, int) and cid >= nxt:
            nxt = cid + 1
    return {name: out[name] for name in names}


def _image_ids(ann: Annotations, names: list[str]) -> dict[str, int | str]:
    """Each image's source id when it has a usable one, else the next free integer."""
    out: dict[str, int | str] = {}
    used: set[int | str] = set()
    for name in names:
        iid = ann.images[name].extra.get(IMAGE_ID_KEY)
        if _is_id(iid) and iid not in used:
            out[name] = iid
            used.add(iid)
    nxt = _next_int(used)
    for name in names:
        if name not in out:
            out[name] = nxt
            used.add(nxt)
            nxt += 1
    return {name: out[name] for name in names}


def to_coco_dict(
    ann: Annotations, sizes: dict[str, tuple[int, int]], *, include_none: bool = False
) -> dict[str, Any]:
    """The COCO dict for `ann`; `sizes` maps images to (width, height) (see exportable_images).

    "None" boxes are written only with `include_none` (the category then comes last).
    """
    cats = category_ids(ann, include_none=include_none)
    names = exportable_images(ann, sizes)
    image_ids = _image_ids(ann, names)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for name in names:
        width, height = sizes[name]
        images.append({"id": image_ids[name], "file_name": name, "width": int(width), "height": int(height)})
        for b in ann.images[name].boxes:
            if b.label not in cats:
                continue
            entry: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_ids[name],
                "category_id": cats[b.label][0],
                "bbox": [b.x1, b.y1, b.width, b.height],
                "area": b.area,
                "iscrowd": 0,
                "segmentation": [],
            }
            if b.score is not None and finite_number(b.score):
                entry["score"] = float(b.score)
            annotations.append(entry)
    return {
        "info": {"description": "Mask Studio export"},
        "licenses": [],
        "images": images,
        "categories": [{"id": cid, "name": c, "supercategory": sup} for c, (cid, sup) in cats.items()],
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


def _categories(data: dict[str, Any], file: str) -> tuple[dict[int | str, str], list[dict[str, Any]]]:
    """({id: name}, the entries to keep as `coco_categories`)."""
    entries = _list(data, "categories", file)
    if not entries:
        raise FormatError("missing or empty", file=file, field="categories")
    names = check_categories([e.get("name") for e in entries], file=file)
    out: dict[int | str, str] = {}
    kept: list[dict[str, Any]] = []
    for i, (entry, name) in enumerate(zip(entries, names, strict=True)):
        cid = _id(entry.get("id"), file=file, fld=f"categories[{i}].id")
        if cid in out:
            raise FormatError(f"duplicate category id {cid!r}", file=file, field=f"categories[{i}].id")
        out[cid] = name
        sup = entry.get("supercategory")
        kept.append({"id": cid, "name": name, "supercategory": sup if isinstance(sup, str) else name})
    return out, kept


def _size_value(value: Any, *, file: str, image: str, fld: str) -> int:
    number = check_number(value, file=file, image=image, fld=fld)
    if number <= 0 or number != int(number):
        raise FormatError(
            f"must be a positive whole number, got {value!r}", file=file, image=image, field=fld
        )
    return int(number)


def _images(
    data: dict[str, Any], file: str, known: set[str], notes: list[str]
) -> tuple[dict[int | str, str], dict[str, tuple[int, int]], dict[str, list[int | str]]]:
    """({image id: name}, {name: size}, {name: its image ids in file order})."""
    names: dict[int | str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    entries_of: dict[str, list[int | str]] = {}
    stripped = 0
    for i, entry in enumerate(_list(data, "images", file)):
        iid = _id(entry.get("id"), file=file, fld=f"images[{i}].id")
        raw_name = entry.get("file_name")
        name = base_image_name(raw_name, file=file, known=known)
        stripped += name != raw_name
        if iid in names:
            raise FormatError(f"duplicate image id {iid!r}", file=file, image=name, field=f"images[{i}].id")
        size = (
            _size_value(entry.get("width"), file=file, image=name, fld=f"images[{i}].width"),
            _size_value(entry.get("height"), file=file, image=name, fld=f"images[{i}].height"),
        )
        if sizes.setdefault(name, size) != size:
            raise FormatError(
                f"listed twice with different sizes {sizes[name]} and {size}",
                file=file,
                image=name,
                field=f"images[{i}]",
            )
        names[iid] = name
        entries_of.setdefault(name, []).append(iid)
    if stripped:
        notes.append(f"{stripped} file names had folders or an upload prefix; matched by base name.")
    return names, sizes, entries_of


def _count_extras(entry: dict[str, Any], dropped: Counter[str]) -> None:
    """Count what an annotation carries beyond its box."""
    seg = entry.get("segmentation")
    if seg and seg != [[]]:
        dropped["segmentation"] += 1
    if entry.get("attributes"):
        dropped["attributes"] += 1
    if entry.get("keypoints"):
        dropped["keypoints"] += 1


def from_coco_dict(
    data: Any,
    *,
    file: str = DEFAULT_FILE,
    rules: str = RULES_APPLY,
    known_images: Iterable[str] = (),
    annotator: str | int = MERGE,
) -> ImportResult:
    """Validate a COCO dict and build annotations. Raises FormatError on bad structure.

    `known_images` (the project's) let Label Studio's upload prefix be recognised; `annotator`
    says how an image listed more than once is read: MERGE, or the 1-based entry to keep.
    """
    if not isinstance(data, dict):
        raise FormatError("top level must be an object with images, categories, annotations", file=file)
    if annotator != MERGE and (
        isinstance(annotator, bool) or not isinstance(annotator, int) or annotator < 1
    ):
        raise FormatError(f"annotator must be {MERGE!r} or a number from 1, got {annotator!r}", file=file)
    notes: list[str] = []
    info = data.get("info")
    if isinstance(info, dict) and info.get("contributor") == "Label Studio":
        notes.append("Written by Label Studio.")
    categories, kept_categories = _categories(data, file)
    names, sizes, entries_of = _images(data, file, set(known_images), notes)
    annotators = max((len(v) for v in entries_of.values()), default=1)
    chosen: set[int | str] = set(names)
    if annotators > 1:
        if not isinstance(annotator, int):  # MERGE: the only text the check above lets through
            notes.append(f"Images listed up to {annotators} times (one per annotator): boxes merged.")
        else:
            chosen = {ids[annotator - 1] if annotator <= len(ids) else ids[0] for ids in entries_of.values()}
            notes.append(
                f"Images listed up to {annotators} times (one per annotator): kept annotator {annotator}."
            )
    raw: dict[str, list[RawBox]] = {name: [] for name in sizes}
    seen: dict[str, set[tuple[Any, ...]]] = {}
    dropped: Counter[str] = Counter()
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
        check_magnitude(x + w, file=file, image=image, fld=f"{fld}.bbox")
        check_magnitude(y + h, file=file, image=image, fld=f"{fld}.bbox")
        score = entry.get("score")
        if score is not None:
            score = check_score(score, file=file, image=image, fld=f"{fld}.score")
        if iid not in chosen:
            dropped["duplicate_annotator"] += 1
            continue
        if entry.get("iscrowd", 0) not in (0, False):
            dropped["crowd"] += 1
            crowd.append(f"{image} annotation {i + 1} {bbox}: crowd region (iscrowd), not an object box")
            continue
        _count_extras(entry, dropped)
        key = (x, y, w, h, cid)
        if len(entries_of[image]) > 1 and key in seen.setdefault(image, set()):
            continue  # the same box from two annotators, merged
        seen.setdefault(image, set()).add(key)
        raw[image].append(RawBox(x, y, x + w, y + h, categories[cid], score))
    used_cids = {e.get("category_id") for e in _list(data, "annotations", file)}
    head = kept_categories[0]
    if (
        len(kept_categories) > 1
        and head["supercategory"] == "none"
        and head["id"] not in used_cids
        and all(k["supercategory"] == head["name"] for k in kept_categories[1:])
    ):  # Roboflow's export lists the dataset itself as category 0, the parent of the others
        notes.append(f"Roboflow's dataset category {head['name']!r} (no boxes) left out.")
        del categories[head["id"]]
        kept_categories = kept_categories[1:]
    extras = {name: {IMAGE_ID_KEY: ids[0]} for name, ids in entries_of.items()}
    if annotator != MERGE:
        extras = {n: {IMAGE_ID_KEY: next(i for i in ids if i in chosen)} for n, ids in entries_of.items()}
    result = build_annotations(
        list(categories.values()),
        raw,
        extras=extras,
        top_extra={CATEGORIES_KEY: kept_categories},
        sizes=sizes,
        rules=rules,
    )
    result.skipped.extend(crowd)
    result.dropped.update(dropped)
    result.notes.extend(notes)
    result.annotators = annotators
    return result


def loads_coco(text: str | bytes, *, file: str = DEFAULT_FILE, **options: Any) -> ImportResult:
    """Validate COCO JSON text (an upload); `options` as for from_coco_dict."""
    return from_coco_dict(parse_json_text(text, file=file), file=file, **options)


#: Above this many annotations the JSON is written compact (Python's C encoder; indenting is
#: done in pure Python, much slower on large files).
INDENT_UP_TO = 5000


def _json_bytes(data: dict[str, Any]) -> bytes:
    return json_bytes(data, indent=2 if len(data["annotations"]) <= INDENT_UP_TO else None)


def dumps_coco(ann: Annotations, sizes: dict[str, tuple[int, int]], *, include_none: bool = False) -> bytes:
    """COCO JSON bytes for `ann` (a download); indented unless it is large (INDENT_UP_TO)."""
    return _json_bytes(to_coco_dict(ann, sizes, include_none=include_none))


def dumps_coco_zip(
    ann: Annotations,
    sizes: dict[str, tuple[int, int]],
    read_image: Callable[[str], bytes],
    *,
    include_none: bool = False,
) -> bytes:
    """A zip of `annotations.coco.json` and `images/<name>` for every image it lists."""
    data = to_coco_dict(ann, sizes, include_none=include_none)
    files = {f"images/{e['file_name']}": read_image(e["file_name"]) for e in data["images"]}
    files[DEFAULT_FILE] = _json_bytes(data)
    return zip_files(files)


def load_coco(path: str | os.PathLike[str]) -> ImportResult:
    """Read and validate a COCO JSON file."""
    return loads_coco(read_file_bytes(path), file=Path(path).name)


def save_coco(
    ann: Annotations,
    sizes: dict[str, tuple[int, int]],
    path: str | os.PathLike[str],
    *,
    include_none: bool = False,
) -> Path:
    """Write `ann` as COCO JSON atomically."""
    return atomic_write_bytes(path, dumps_coco(ann, sizes, include_none=include_none))
