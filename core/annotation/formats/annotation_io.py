"""One entry point per direction for the annotator's import/export, over every format.

Formats: the seed JSON (the project's own file), COCO JSON (Label Studio's included), Pascal VOC
(a zip of one XML per image) and YOLO (classes.txt, data.yaml or obj.names layouts in; an
Ultralytics dataset zip out). Formats that store normalised or per-image sizes read the sizes
from the project's image files (and, for a YOLO import, from images inside the zip).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.annotation.annotations import Annotations
from core.annotation.formats import categories as cat_fmt
from core.annotation.formats.archive import read_zip, zip_files
from core.annotation.formats.coco import MERGE, dumps_coco, dumps_coco_zip, loads_coco
from core.annotation.formats.common import (
    RULES_APPLY,
    RULES_FLAG,
    ImportResult,
    base_image_name,
    check_rule_mode,
)
from core.annotation.formats.seed_json import dumps_seed_json, import_seed_json, parse_json_text
from core.annotation.formats.voc import ORIGINS, dumps_voc, loads_voc
from core.annotation.formats.yolo import dumps_yolo_dataset, split_images
from core.annotation.formats.yolo_import import loads_yolo
from core.annotation.projects import Project, attach_to_files
from core.errors import BoxRejected, FormatError, MaskStudioError
from core.imaging import image_size, is_image_name

ANNOTATION_FORMATS = {
    "seed": "Seed JSON",
    "coco": "COCO JSON",
    "voc": "Pascal VOC (zip of XML)",
    "yolo": "YOLO (Ultralytics dataset zip)",
}
IMPORT_TYPES = {"seed": ["json"], "coco": ["json", "zip"], "voc": ["zip", "xml"], "yolo": ["zip"]}
IMPORT_HELP = {
    "seed": 'The seed layout: "categories" plus "images" with "rectangles" [x1, y1, x2, y2] and '
    '"rect_to_category". "src" is informational and never read.',
    "coco": "A COCO detection file (images, categories, annotations with bbox [x, y, w, h]), or a "
    "zip holding one. Label Studio's `images/<upload>-name.jpg` names are matched by base name.",
    "voc": "One Pascal VOC XML per image, zipped (or a single XML file): labelImg, CVAT, Roboflow, "
    "Label Studio.",
    "yolo": "A zip with data.yaml (Ultralytics, Roboflow), obj.names + obj.data (darknet, CVAT) or "
    "classes.txt, and one <image-stem>.txt per image (class cx cy w h, normalised), in any folders. "
    "Image sizes come from this project's images or from images inside the zip.",
}
VOC_ORIGINS = {
    "auto": "Detect (0-based when Label Studio wrote it or a coordinate is 0)",
    "1": "1-based (VOC devkit, labelImg, CVAT, Roboflow)",
    "0": "0-based (Label Studio and other 0-based writers)",
}
assert set(VOC_ORIGINS) == set(ORIGINS)


@dataclass(frozen=True)
class ImportOptions:
    """How an import reads a file: the box rules, the annotator (COCO), the VOC origin."""

    rules: str = RULES_APPLY
    annotator: str | int = MERGE
    voc_origin: str = "auto"


@dataclass(frozen=True)
class ExportOptions:
    """What an export writes: "None" boxes, the YOLO val fraction and seed, images in the zip."""

    include_none: bool = False
    val_fraction: float = 0.0
    seed: int = 0
    with_images: bool = False


CATEGORY_FORMATS = ("json", "csv", "xlsx")
_CATEGORY_MIME = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def project_sizes(project: Project, names: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """(width, height) of the project's readable images."""
    sizes: dict[str, tuple[int, int]] = {}
    for name in names if names is not None else project.list_images():
        try:
            sizes[name] = project.image_size(name)
        except MaskStudioError:
            continue
    return sizes


def export_annotations(
    project: Project, ann: Annotations, fmt: str, options: ExportOptions = ExportOptions()
) -> tuple[bytes, str, str]:
    """(bytes, file name, mime type) of the annotations in `fmt`.

    YOLO is an Ultralytics dataset zip with the images, all in train or a seeded val fraction
    (annotation projects have no split manifest); COCO is JSON, or a zip with the images.
    """
    if fmt == "seed":
        return dumps_seed_json(ann), f"{project.name}_annotations.json", "application/json"
    sizes = project_sizes(
        project, [n for n in ann.images if ann.images[n].boxes or n in project.list_images()]
    )
    missing = sorted(n for n, a in ann.images.items() if a.boxes and n not in sizes)
    if missing:
        raise FormatError(f"needs image sizes, but these images are missing: {', '.join(missing[:5])}")

    def read_image(name: str) -> bytes:
        return project.image_path(name).read_bytes()

    if fmt == "coco":
        if options.with_images:
            data = dumps_coco_zip(ann, sizes, read_image, include_none=options.include_none)
            return data, f"{project.name}_coco.zip", "application/zip"
        return (
            dumps_coco(ann, sizes, include_none=options.include_none),
            f"{project.name}_coco.json",
            "application/json",
        )
    if fmt == "voc":
        return zip_files(dumps_voc(ann, sizes)), f"{project.name}_voc.zip", "application/zip"
    if fmt == "yolo":
        split = split_images([n for n in ann.images if n in sizes], options.val_fraction, options.seed)
        files = dumps_yolo_dataset(
            ann, sizes, split=split, include_none=options.include_none, read_image=read_image
        )
        return zip_files(files), f"{project.name}_yolo.zip", "application/zip"
    raise FormatError(f"unknown format {fmt!r}")


def _members(filename: str, data: bytes, suffixes: tuple[str, ...]) -> dict[str, bytes]:
    if filename.lower().endswith(".zip"):
        files = read_zip(data, file=filename)
    else:
        files = {filename: data}
    return {k: v for k, v in files.items() if k.lower().endswith(suffixes)}


def _coco_json(filename: str, data: bytes) -> tuple[str, bytes]:
    """The COCO JSON of an upload: the file itself, or the one .json inside a zip."""
    if not filename.lower().endswith(".zip"):
        return filename, data
    found = _members(filename, data, (".json",))
    if len(found) != 1:
        raise FormatError(f"expected one .json file in the zip, found {len(found)}", file=filename)
    return next(iter(found.items()))


def coco_annotators(filename: str, data: bytes, known_images: list[str] | None = None) -> int:
    """The most entries one image has in a COCO upload (Label Studio: one per annotator).
    FormatError naming the file for anything unreadable."""
    try:
        name, text = _coco_json(filename, data)
        parsed = parse_json_text(text, file=name)
    except Exception as exc:
        raise as_format_error(exc, file=filename) from exc
    images = parsed.get("images") if isinstance(parsed, dict) else None
    counts: dict[str, int] = {}
    known = set(known_images or ())
    for entry in images if isinstance(images, list) else []:
        try:
            base = base_image_name(entry.get("file_name"), file=name, known=known)
        except (FormatError, AttributeError):
            continue
        counts[base] = counts.get(base, 0) + 1
    return max(counts.values(), default=1)


def _zip_image_sizes(files: dict[str, bytes]) -> dict[str, tuple[int, int]]:
    """(width, height) of the readable images inside an upload, by base name."""
    sizes: dict[str, tuple[int, int]] = {}
    for key, content in files.items():
        name = PurePosixPath(key).name
        if is_image_name(name) and name not in sizes:
            try:
                sizes[name] = image_size(io.BytesIO(content))
            except MaskStudioError:
                continue
    return sizes


def as_format_error(exc: BaseException, *, file: str) -> FormatError:
    """Any exception from reading an uploaded file, as a FormatError naming the file (and the
    image and field when the exception carries them)."""
    if isinstance(exc, FormatError):
        return exc
    if isinstance(exc, MaskStudioError):
        return FormatError(str(exc), file=file)
    if isinstance(exc, UnicodeError):
        detail = "text that is not valid Unicode (a lone surrogate or an undecodable byte)"
    elif isinstance(exc, (OverflowError, MemoryError)):
        detail = "a number or value too large to read"
    elif isinstance(exc, RecursionError):
        detail = "nesting too deep to read"
    else:
        text = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
        detail = f"cannot read it ({type(exc).__name__}: {text[:200]})"
    return FormatError(detail, file=file)


def clip_to_sizes(
    result: ImportResult, sizes: dict[str, tuple[int, int]], rules: str = RULES_APPLY
) -> ImportResult:
    """Boxes of images whose size is known, clipped to the image (a box larger than its image is
    never stored); a box left too small is skipped and listed (with rules="flag", a box that
    still has an area is kept, flagged)."""
    ann = result.annotations
    for name, entry in ann.images.items():
        size = sizes.get(name)
        if size is None or all(b.clipped(*size) == b for b in entry.boxes):
            continue
        boxes, entry.boxes = entry.boxes, []
        if rules == RULES_FLAG or any(b.flag is not None for b in boxes):
            for b in boxes:
                try:
                    ann.add_box_or_flag(name, b, image_size=size)
                except BoxRejected as exc:
                    result.skipped.append(f"{name} box {list(b.xyxy)}: {exc.message} (after clipping)")
            continue
        _, refused = ann.try_add_boxes(name, boxes, image_size=size)
        result.skipped += [f"{name} box {list(b.xyxy)}: {exc.message} (after clipping)" for b, exc in refused]
    return result


def import_annotations(
    project: Project, fmt: str, filename: str, data: bytes, options: ImportOptions = ImportOptions()
) -> ImportResult:
    """Validate an uploaded annotation file. Nothing is saved here: the caller decides.

    Every failure is a FormatError naming the file (and image and field where known); boxes of
    images the project holds are clipped to the image."""
    check_rule_mode(options.rules)
    try:
        result = _import(project, fmt, filename, data, options)
    except Exception as exc:
        raise as_format_error(exc, file=filename) from exc
    if fmt != "yolo":  # YOLO boxes are made from the image sizes already
        try:
            attach_to_files(result.annotations, project.list_images())
            clip_to_sizes(result, project_sizes(project, list(result.annotations.images)), options.rules)
        except MaskStudioError as exc:
            raise as_format_error(exc, file=filename) from exc
    return result


def _import(project: Project, fmt: str, filename: str, data: bytes, options: ImportOptions) -> ImportResult:
    if fmt == "seed":
        return import_seed_json(data, file=filename, rules=options.rules)
    if fmt == "coco":
        name, text = _coco_json(filename, data)
        return loads_coco(
            text,
            file=name,
            rules=options.rules,
            known_images=project.list_images(),
            annotator=options.annotator,
        )
    if fmt == "voc":
        files = _members(filename, data, (".xml",))
        if not files:
            raise FormatError("no .xml files found", file=filename)
        return loads_voc(
            files,
            categories=project.load().categories,
            known_images=project.list_images(),
            origin=options.voc_origin,
            rules=options.rules,
        )
    if fmt == "yolo":
        if not filename.lower().endswith(".zip"):
            raise FormatError("a YOLO import is a zip", file=filename)
        files = read_zip(data, file=filename)
        sizes = {**_zip_image_sizes(files), **project_sizes(project)}
        texts = {k: v for k, v in files.items() if not is_image_name(PurePosixPath(k).name)}
        return loads_yolo(texts, sizes, rules=options.rules)
    raise FormatError(f"unknown format {fmt!r}", file=filename)


def export_categories(categories: list[str], fmt: str) -> tuple[bytes, str]:
    """(bytes, mime type) of the category list as JSON, CSV or XLSX."""
    writers = {
        "json": cat_fmt.dumps_categories_json,
        "csv": cat_fmt.dumps_categories_csv,
        "xlsx": cat_fmt.dumps_categories_xlsx,
    }
    if fmt not in writers:
        raise FormatError(f"unknown category format {fmt!r}")
    return writers[fmt](categories), _CATEGORY_MIME[fmt]


def import_categories(filename: str, data: bytes) -> list[str]:
    """Category names from an uploaded JSON or CSV (or XLSX) file (any failure: FormatError)."""
    try:
        return cat_fmt.loads_categories(data, filename)
    except Exception as exc:
        raise as_format_error(exc, file=filename) from exc
