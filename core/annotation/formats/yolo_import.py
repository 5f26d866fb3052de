"""Reading YOLO labels (the layouts other tools write) from a zip or a folder:
- the class list from `data.yaml` (Ultralytics, Roboflow; `names` as a list or as a dict
  `{0: a, 1: b}`), or `obj.names` (darknet, CVAT "YOLO 1.1", found through `obj.data` when it
  names it), or `classes.txt` (Label Studio, this project's flat export);
- label files anywhere: `labels/`, `train/labels/`, `obj_train_data/`...; each is matched to
  an image by stem, the name coming from the project's images, the images in the upload, or a
  `train.txt`-style list. The same stem in two splits is read once when both files agree.
Text files that name no image (READMEs, lists) are ignored and reported in the notes.
The line format and the export: core.annotation.formats.yolo.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from core.annotation.formats.common import (
    RULES_APPLY,
    ImportResult,
    RawBox,
    build_annotations,
    check_categories,
    check_score,
    number_from_text,
    read_file_bytes,
)
from core.annotation.formats.yolo import CLASSES_FILE, DATA_YAML, label_stem
from core.errors import FormatError
from core.fsutil import natural_key

_EPS = 1e-6  # tolerance for normalised values written as 1.0000001 and the like
_LIST_NAMES = {"train.txt", "val.txt", "valid.txt", "test.txt"}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


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


def parse_label_file(
    data: bytes,
    *,
    file: str,
    image: str,
    size: tuple[int, int],
    classes: list[str],
    dropped: Counter[str] | None = None,
) -> list[RawBox]:
    """Raw pixel boxes from one label file.

    A segmentation line (`class x1 y1 x2 y2 x3 y3 ...`, Ultralytics) gives its polygon's
    bounding box; the polygon is counted in `dropped["segmentation"]`.
    """
    w, h = size
    boxes: list[RawBox] = []
    for n, line in enumerate(_decode(data, file).splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        fld = f"line {n}"
        polygon = len(tokens) >= 7 and len(tokens) % 2 == 1
        if len(tokens) not in (5, 6) and not polygon:
            raise FormatError(
                f"expected 'class cx cy w h [score]' or a polygon, got {line!r}",
                file=file,
                image=image,
                field=fld,
            )
        if not (tokens[0].isascii() and tokens[0].isdigit()) or int(tokens[0]) >= len(classes):
            raise FormatError(
                f"class {tokens[0]!r} is not an index below {len(classes)}", file=file, image=image, field=fld
            )
        if polygon:
            pts = [number_from_text(t, file=file, image=image, fld=fld) for t in tokens[1:]]
            x1, y1, x2, y2 = min(pts[0::2]), min(pts[1::2]), max(pts[0::2]), max(pts[1::2])
            if x2 <= x1 or y2 <= y1:
                raise FormatError("the polygon encloses no area", file=file, image=image, field=fld)
            if dropped is not None:
                dropped["segmentation"] += 1
        else:
            cx, cy, bw, bh = (number_from_text(t, file=file, image=image, fld=fld) for t in tokens[1:5])
            if bw <= 0 or bh <= 0:
                raise FormatError("width and height must be positive", file=file, image=image, field=fld)
            x1, y1, x2, y2 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
        if min(x1, y1) < -_EPS or max(x2, y2) > 1 + _EPS:
            raise FormatError("box is not inside the image (0..1)", file=file, image=image, field=fld)
        score = (
            check_score(
                number_from_text(tokens[5], file=file, image=image, fld=fld), file=file, image=image, fld=fld
            )
            if len(tokens) == 6
            else None
        )
        boxes.append(RawBox(x1 * w, y1 * h, x2 * w, y2 * h, classes[int(tokens[0])], score).clipped(w, h))
    return boxes


_FLOW_ITEM = re.compile(r"""((?:'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^,'"])*)(?:,|$)""")


def _scalar(text: str) -> str:
    """A YAML scalar as text: quotes removed, an unquoted trailing `# comment` dropped."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        try:
            return str(json.loads(text))
        except ValueError:
            return text[1:-1]
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def _flow(text: str, *, file: str) -> list[str] | dict[str, str]:
    """A one-line YAML flow list `[a, 'b']` or map `{0: a, 1: b}`."""
    inner = text.strip()[1:-1]
    items = [m.group(1) for m in _FLOW_ITEM.finditer(inner) if m.group(1).strip()]
    if text.strip().startswith("["):
        return [_scalar(i) for i in items]
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep:
            raise FormatError(f"expected key: value in {text!r}", file=file, field="names")
        out[_scalar(key)] = _scalar(value)
    return out


def parse_data_yaml(data: bytes, *, file: str = DATA_YAML) -> dict[str, Any]:
    """The top-level keys of an Ultralytics/Roboflow data.yaml this reader needs.

    Reads the subset such files use: `key: scalar`, flow lists and maps on one line, and a
    block list (`- a`) or block map (`0: a`) under a key. Nested blocks of other keys (such as
    Roboflow's `roboflow:`) are skipped.
    """
    out: dict[str, Any] = {}
    key: str | None = None
    for raw in _decode(data, file).splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace() and not raw.startswith("-"):
            k, sep, value = raw.partition(":")
            if not sep:
                raise FormatError(f"expected 'key: value', got {raw!r}", file=file)
            key, value = k.strip(), value.strip()
            if value.startswith(("[", "{")):
                out[key] = _flow(value, file=file)
            elif value and not value.startswith("#"):
                out[key] = _scalar(value)
            else:
                out[key] = None
            continue
        if key is None:
            raise FormatError(f"indented line before any key: {raw!r}", file=file)
        item = raw.strip()
        if item.startswith("- ") or item == "-":
            if out.get(key) is None:
                out[key] = []
            if isinstance(out[key], list):
                out[key].append(_scalar(item[1:]))
        elif ":" in item:
            if out.get(key) is None:
                out[key] = {}
            if isinstance(out[key], dict):
                k, _, value = item.partition(":")
                out[key][_scalar(k)] = _scalar(value)
    return out


def names_from_yaml(data: bytes, *, file: str = DATA_YAML) -> list[str]:
    """Class names by index from a data.yaml (`names` as a list or an index -> name map)."""
    names = parse_data_yaml(data, file=file).get("names")
    if isinstance(names, dict):
        try:
            index = {int(k): v for k, v in names.items()}
        except ValueError as exc:
            raise FormatError("names keys must be class indices", file=file, field="names") from exc
        if sorted(index) != list(range(len(index))):
            raise FormatError("names must number the classes 0, 1, 2, ...", file=file, field="names")
        names = [index[i] for i in range(len(index))]
    if not isinstance(names, list) or not names:
        raise FormatError("missing or empty", file=file, field="names")
    return check_categories(names, file=file, fld="names")


def _obj_data(data: bytes, *, file: str) -> dict[str, str]:
    """The `key = value` lines of a darknet obj.data."""
    out: dict[str, str] = {}
    for line in _decode(data, file).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _base(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


def _depth(name: str) -> int:
    return name.replace("\\", "/").count("/")


def _find(files: dict[str, bytes], suffixes: tuple[str, ...], wanted: str = "") -> str | None:
    """The shallowest file whose base name is `wanted` (or any with these suffixes)."""
    found = [
        k
        for k in files
        if (_base(k) == wanted if wanted else k.lower().endswith(suffixes)) and not k.startswith("__MACOSX")
    ]
    return min(found, key=lambda k: (_depth(k), k)) if found else None


def read_class_list(files: dict[str, bytes]) -> tuple[list[str], set[str], list[str]]:
    """(class names, the config files used, notes) from data.yaml, obj.names/obj.data or classes.txt."""
    used: set[str] = set()
    notes: list[str] = []
    yaml_file = _find(files, (), DATA_YAML) or _find(files, (".yaml", ".yml"))
    if yaml_file is not None:
        used.add(yaml_file)
        cfg = parse_data_yaml(files[yaml_file], file=yaml_file)
        for key in ("train", "val", "test"):
            value = cfg.get(key)
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, str) and entry.endswith(".txt"):
                    hit = _find(files, (), _base(entry))
                    if hit:
                        used.add(hit)
        notes.append(f"Classes from {yaml_file}.")
        return names_from_yaml(files[yaml_file], file=yaml_file), used, notes
    data_file = _find(files, (), "obj.data")
    names_file = None
    if data_file is not None:
        used.add(data_file)
        cfg = _obj_data(files[data_file], file=data_file)
        if cfg.get("names"):
            names_file = _find(files, (), _base(cfg["names"]))
        for key in ("train", "valid", "test"):
            hit = _find(files, (), _base(cfg.get(key, ""))) if cfg.get(key) else None
            if hit:
                used.add(hit)
    names_file = names_file or _find(files, (".names",))
    if names_file is None:
        names_file = _find(files, (), CLASSES_FILE)
    if names_file is None:
        raise FormatError(
            f"no class list: expected {DATA_YAML}, obj.names or {CLASSES_FILE}", file="(upload)"
        )
    used.add(names_file)
    notes.append(f"Classes from {names_file}.")
    return parse_classes(files[names_file], file=names_file), used, notes


def _is_list(data: bytes) -> bool:
    """True when the first non-blank line names an image file (a list, not a label file)."""
    first = next((line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()), "")
    return PurePosixPath(first).suffix.lower() in _IMAGE_SUFFIXES


def _list_names(files: dict[str, bytes], lists: set[str]) -> dict[str, str]:
    """{stem: image base name} from image lists such as darknet's train.txt."""
    out: dict[str, str] = {}
    for key in lists:
        for line in _decode(files[key], key).splitlines():
            name = _base(line.strip())
            if PurePosixPath(name).suffix.lower() in _IMAGE_SUFFIXES:
                out.setdefault(PurePosixPath(name).stem, name)
    return out


def loads_yolo(
    files: dict[str, bytes], sizes: dict[str, tuple[int, int]], *, rules: str = RULES_APPLY
) -> ImportResult:
    """Annotations from {file name: bytes}: a class list and label files (see the module doc).

    `sizes` holds the images a label file can name (the project's, plus any in the upload).
    """
    classes, used, notes = read_class_list(files)
    lists = {k for k in files if _base(k) in _LIST_NAMES and k not in used and _is_list(files[k])} | {
        k for k in used if k.endswith(".txt") and _base(k) != CLASSES_FILE and not k.endswith(".names")
    }
    listed = _list_names(files, lists)
    images: dict[str, list[str]] = {}
    for name in sizes:
        images.setdefault(label_stem(name), []).append(name)
    raw: dict[str, list[RawBox]] = {}
    source: dict[str, str] = {}
    ignored: list[str] = []
    dropped: Counter[str] = Counter()
    same = 0
    for key in sorted(files, key=natural_key):
        if not key.lower().endswith(".txt") or key in used or key in lists:
            continue
        stem = label_stem(key)
        matches = images.get(stem, [])
        if len(matches) > 1 and listed.get(stem) in matches:
            matches = [listed[stem]]
        if not matches:
            ignored.append(key)
            continue
        if len(matches) > 1:
            raise FormatError(f"several images match: {sorted(matches)}", file=key)
        image = matches[0]
        if image in source:
            if files[source[image]].strip() == files[key].strip():
                same += 1
                continue
            raise FormatError(
                f"{source[image]} and {key} both label {image} but differ; a project holds one image "
                "per name, so rename one of them",
                file=key,
                image=image,
            )
        source[image] = key
        raw[image] = parse_label_file(
            files[key], file=key, image=image, size=sizes[image], classes=classes, dropped=dropped
        )
    if not raw and ignored:
        raise FormatError(
            f"none of the {len(ignored)} label files names an image of this project or of the upload; "
            "add the images first",
            file=ignored[0],
        )
    if not raw:
        raise FormatError("no label files found", file="(upload)")
    if same:
        notes.append(f"{same} label files repeated in another split with the same boxes, read once.")
    if ignored:
        notes.append(
            f"{len(ignored)} text files name no known image and were ignored: {', '.join(ignored[:5])}."
        )
    result = build_annotations(classes, raw, sizes=sizes, rules=rules)
    result.dropped.update(dropped)
    result.notes.extend(notes)
    return result


def load_yolo_dir(
    folder: str | os.PathLike[str], sizes: dict[str, tuple[int, int]], *, rules: str = RULES_APPLY
) -> ImportResult:
    """Annotations from the class list and label files anywhere under `folder`."""
    root = Path(folder)
    files: dict[str, bytes] = {}
    for p in root.rglob("*"):
        if p.is_file() and p.suffix.lower() in {".txt", ".yaml", ".yml", ".names", ".data"}:
            files[p.relative_to(root).as_posix()] = read_file_bytes(p)
    return loads_yolo(files, sizes, rules=rules)
