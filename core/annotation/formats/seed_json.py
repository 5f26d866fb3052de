"""The seed JSON layout (seed report, Listing 1): the project's own annotation file.

    {"categories": ["None", "mask", ...],
     "images": {"IMG_1.JPG": {"rectangles": [[x1, y1, x2, y2]], "rect_to_category": [1],
                              "dst": 0, "src": "..."}},
     "destinations": ["None"]}

Extra per-image keys (`dst`, `src`, ...) are kept as they came; `src` is informational and
never read. Mask Studio adds an optional `rect_scores` list (detector or model confidence,
null for hand-drawn boxes), an optional `rect_flags` list (null, or the name of the box rule
a box imported with "keep all boxes, flag rule breakers" breaks) and a `rect_ids` list (each
box's stable id), which other readers ignore. A file without `rect_ids` gets ids derived from
its content, so every reader of the same file agrees on them until it is saved with them.

An upload (import_seed_json) is refused over MAX_UPLOAD_BYTES before parsing, and when any text
in it (a `src` included) is longer than MAX_TEXT_CHARS.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from core.annotation.annotations import (
    BOX_ID_PATTERN,
    RULE_TEXT,
    Annotations,
    Box,
    derived_box_ids,
    new_box_id,
)
from core.annotation.formats.common import (
    ImportResult,
    RawBox,
    build_annotations,
    check_categories,
    check_image_name,
    check_score,
    check_xyxy,
    json_bytes,
    read_file_bytes,
)
from core.errors import FormatError
from core.fsutil import atomic_write_bytes, finite_number, natural_key

_BOX_KEYS = {"rectangles", "rect_to_category", "rect_scores", "rect_flags", "rect_ids"}
#: An uploaded seed file larger than this is refused before it is parsed.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: The longest text (a key, a category, `src`, any extra field) an uploaded seed file may hold:
#: the extra fields are kept and rewritten on every save, so one huge `src` would weigh on all.
MAX_TEXT_CHARS = 64 * 1024


class _Constant:
    """Stands in for a NaN/Infinity token while parsing, so the error can say where it was."""

    def __init__(self, token: str) -> None:
        self.token = token


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _find_constant(data: Any) -> tuple[list[Any], str] | None:
    """(path, token) of the first NaN/Infinity placeholder in `data`, walking without recursion."""
    stack: list[tuple[list[Any], Any]] = [([], data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _Constant):
            return path, node.token
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend((path + [k], v) for k, v in reversed(list(items)))
    return None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_CHAR = re.compile("[\ud800-\udfff]")


def _has_surrogate(text: str) -> bool:
    return _SURROGATE_CHAR.search(text) is not None


def _printable(text: str) -> str:
    """`text` with lone surrogates written as `\\udXXX` escapes (so a message can be shown)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _find_surrogate(data: Any) -> list[Any] | None:
    """Path of the first key or string holding a lone surrogate, walking without recursion."""
    stack: list[tuple[list[Any], Any]] = [([], data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if _has_surrogate(node):
                return path
        elif isinstance(node, dict):
            for k, v in node.items():
                if _has_surrogate(k):
                    return path + [k]
                stack.append((path + [k], v))
        elif isinstance(node, list):
            stack.extend((path + [i], v) for i, v in enumerate(node))
    return None


def _path_text(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_json_text(text: str | bytes, *, file: str) -> Any:
    """json.loads that refuses NaN/Infinity (naming where it was) and reports the file on errors."""
    found: list[str] = []

    def constant(token: str) -> _Constant:
        found.append(token)
        return _Constant(token)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    raise _DuplicateKey(key)
                seen.add(key)
        return out

    try:
        data = json.loads(text, parse_constant=constant, object_pairs_hook=pairs)
    except _DuplicateKey as dup:
        raise FormatError(
            f"the key {dup.key[:100]!r} appears twice in one object; a JSON reader would silently "
            "keep only the last one, so the file is refused",
            file=file,
            field=dup.key[:100],
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"not valid JSON ({exc})", file=file) from exc
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if _SURROGATE_ESCAPE.search(raw) or _SURROGATE_CHAR.search(raw):
        spot = _find_surrogate(data)
        if spot is not None:
            path = spot
            image = ""
            if len(path) >= 2 and path[0] == "images" and isinstance(path[1], str):
                image, path = _printable(path[1]), path[2:]
            raise FormatError(
                "a lone surrogate escape (such as \\ud800) is not valid Unicode text",
                file=file,
                image=image,
                field=_printable(_path_text(path)) if path else "",
            )
    if found:
        where = _find_constant(data)
        path, token = where if where else ([], found[0])
        image = ""
        if len(path) >= 2 and path[0] == "images" and isinstance(path[1], str):
            image, path = path[1], path[2:]
        raise FormatError(
            f"{token} is not allowed in annotation JSON", file=file, image=image, field=_path_text(path)
        )
    return data


def from_seed_dict(data: Any, *, file: str = "annotations.json", rules: str = "apply") -> ImportResult:
    """Validate a seed-layout dict and build annotations. Raises FormatError on bad structure.

    Boxes listed in `rect_flags` stay flagged; `rules` decides about the others (see
    build_annotations).
    """
    if not isinstance(data, dict):
        raise FormatError("top level must be an object with 'categories' and 'images'", file=file)
    if "categories" not in data:
        raise FormatError("missing", file=file, field="categories")
    categories = check_categories(data["categories"], file=file)
    images_in = data.get("images", {})
    if not isinstance(images_in, dict):
        raise FormatError("must be an object mapping image names to their boxes", file=file, field="images")
    raw: dict[str, list[RawBox]] = {}
    extras: dict[str, dict[str, Any]] = {}
    for name, entry in images_in.items():
        check_image_name(name, file=file)
        if not isinstance(entry, dict):
            raise FormatError("must be an object", file=file, image=name)
        rects = entry.get("rectangles", [])
        cats = entry.get("rect_to_category", [])
        scores = entry.get("rect_scores")
        if not isinstance(rects, list):
            raise FormatError("must be a list of [x1, y1, x2, y2]", file=file, image=name, field="rectangles")
        if not isinstance(cats, list):
            raise FormatError(
                "must be a list of category indices", file=file, image=name, field="rect_to_category"
            )
        if len(cats) != len(rects):
            raise FormatError(
                f"has {len(cats)} entries for {len(rects)} rectangles",
                file=file,
                image=name,
                field="rect_to_category",
            )
        if scores is not None and (not isinstance(scores, list) or len(scores) != len(rects)):
            raise FormatError(
                "must be a list as long as rectangles", file=file, image=name, field="rect_scores"
            )
        flags = entry.get("rect_flags")
        if flags is not None and (
            not isinstance(flags, list)
            or len(flags) != len(rects)
            or not all(f is None or f in RULE_TEXT for f in flags)
        ):
            raise FormatError(
                f"must be a list as long as rectangles of null or one of {', '.join(RULE_TEXT)}",
                file=file,
                image=name,
                field="rect_flags",
            )
        ids = _box_ids(entry.get("rect_ids"), rects, file=file, image=name)
        boxes: list[RawBox] = []
        for i, (rect, cat) in enumerate(zip(rects, cats, strict=True)):
            xyxy = check_xyxy(rect, file=file, image=name, fld=f"rectangles[{i}]")
            if isinstance(cat, bool) or not isinstance(cat, int):
                raise FormatError(
                    f"expected an integer index, got {cat!r}",
                    file=file,
                    image=name,
                    field=f"rect_to_category[{i}]",
                )
            if not 0 <= cat < len(categories):
                raise FormatError(
                    f"index {cat} is out of range (there are {len(categories)} categories)",
                    file=file,
                    image=name,
                    field=f"rect_to_category[{i}]",
                )
            score = None
            if scores is not None and scores[i] is not None:
                score = check_score(scores[i], file=file, image=name, fld=f"rect_scores[{i}]")
            flag = flags[i] if flags is not None else None
            boxes.append(RawBox(*xyxy, categories[cat], score, flag, ids[i] if ids else ""))
        raw[name] = boxes
        extras[name] = {k: v for k, v in entry.items() if k not in _BOX_KEYS}
    top_extra = {k: v for k, v in data.items() if k not in {"categories", "images"}}
    return build_annotations(categories, raw, extras=extras, top_extra=top_extra, rules=rules)


def _box_ids(ids: Any, rects: list[Any], *, file: str, image: str) -> list[str] | None:
    """The checked `rect_ids` of an image; derived ones when the file has none; None when the
    rectangles are malformed (their own check reports it)."""
    if ids is None:
        try:
            return derived_box_ids(image, [tuple(float(v) for v in r) for r in rects])
        except (TypeError, ValueError, OverflowError):  # a 400-digit int: check_xyxy says so
            return None
    if (
        not isinstance(ids, list)
        or len(ids) != len(rects)
        or not all(isinstance(i, str) and BOX_ID_PATTERN.fullmatch(i) for i in ids)
    ):
        raise FormatError(
            "must be a list as long as rectangles of ids (letters, digits, - and _, at most 40)",
            file=file,
            image=image,
            field="rect_ids",
        )
    if len(set(ids)) != len(ids):
        dup = next(i for n, i in enumerate(ids) if i in ids[:n])
        raise FormatError(f"the id {dup!r} is given to two boxes", file=file, image=image, field="rect_ids")
    return ids


def _ids_to_write(image: str, boxes: list[Box]) -> list[str]:
    """Each box's id; a box without one, or repeating an earlier one, gets a derived or fresh id."""
    fallback = derived_box_ids(image, [b.xyxy for b in boxes])
    out: list[str] = []
    seen: set[str] = set()
    for b, derived in zip(boxes, fallback, strict=True):
        box_id = b.id if b.id and b.id not in seen else derived
        if box_id in seen:
            box_id = new_box_id()
        seen.add(box_id)
        out.append(box_id)
    return out


def to_seed_dict(ann: Annotations) -> dict[str, Any]:
    """The seed layout for `ann`; images in natural order, coordinates as floats like the seed."""
    index = {c: i for i, c in enumerate(ann.categories)}
    images: dict[str, Any] = {}
    for name in sorted(ann.images, key=natural_key):
        entry = ann.images[name]
        out: dict[str, Any] = {
            "rectangles": [[float(v) for v in b.xyxy] for b in entry.boxes],
            "rect_to_category": [index[b.label] for b in entry.boxes],
        }
        if any(b.score is not None for b in entry.boxes):
            out["rect_scores"] = [
                round(float(b.score), 4) if b.score is not None and finite_number(b.score) else None
                for b in entry.boxes
            ]
        if any(b.flag is not None for b in entry.boxes):
            out["rect_flags"] = [b.flag for b in entry.boxes]
        if entry.boxes:
            out["rect_ids"] = _ids_to_write(name, entry.boxes)
        out.update(entry.extra)
        images[name] = out
    result: dict[str, Any] = {"categories": list(ann.categories), "images": images}
    result.update({k: v for k, v in ann.extra.items() if k not in result})
    result.setdefault("destinations", ["None"])
    return result


def load_seed_json(path: str | os.PathLike[str]) -> ImportResult:
    """Read and validate a seed-layout file."""
    return loads_seed_json(read_file_bytes(path), file=Path(path).name)


def loads_seed_json(
    text: str | bytes, *, file: str = "annotations.json", rules: str = "apply"
) -> ImportResult:
    """Validate seed-layout JSON text (an upload)."""
    return from_seed_dict(parse_json_text(text, file=file), file=file, rules=rules)


def import_seed_json(data: bytes, *, file: str = "annotations.json", rules: str = "apply") -> ImportResult:
    """loads_seed_json for an upload: refused over MAX_UPLOAD_BYTES (unparsed) or when a text in it
    is longer than MAX_TEXT_CHARS (naming where)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise FormatError(
            f"the file is {len(data) / 2**20:,.0f} MB; a seed file to import is at most "
            f"{MAX_UPLOAD_BYTES // 2**20} MB",
            file=file,
        )
    parsed = parse_json_text(data, file=file)
    spot = _find_long_text(parsed)
    if spot is not None:
        path, length = spot
        image = ""
        if len(path) >= 2 and path[0] == "images" and isinstance(path[1], str):
            image, path = _printable(path[1][:100]), path[2:]
        raise FormatError(
            f"a text of {length:,} characters; a seed file's texts are at most {MAX_TEXT_CHARS:,}",
            file=file,
            image=image,
            field=_printable(_path_text([p[:100] if isinstance(p, str) else p for p in path])),
        )
    return from_seed_dict(parsed, file=file, rules=rules)


def _find_long_text(data: Any) -> tuple[list[Any], int] | None:
    """(path, length) of the first key or string over MAX_TEXT_CHARS, walking without recursion."""
    stack: list[tuple[list[Any], Any]] = [([], data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if len(node) > MAX_TEXT_CHARS:
                return path, len(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                if len(k) > MAX_TEXT_CHARS:
                    return path + [k], len(k)
                stack.append((path + [k], v))
        elif isinstance(node, list):
            stack.extend((path + [i], v) for i, v in enumerate(node))
    return None


def save_seed_json(ann: Annotations, path: str | os.PathLike[str]) -> Path:
    """Write `ann` atomically in the seed layout."""
    return atomic_write_bytes(path, dumps_seed_json(ann))


def dumps_seed_json(ann: Annotations) -> bytes:
    """`ann` in the seed layout as UTF-8 JSON file bytes (a download)."""
    return json_bytes(to_seed_dict(ann))
