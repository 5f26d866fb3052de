"""One entry point per direction for the annotator's import/export, over every format.

Formats: the seed JSON (the project's own file), COCO JSON, Pascal VOC (a zip of one XML per
image) and YOLO (a zip of one txt per image plus classes.txt). Formats that store
normalised or per-image sizes read the sizes from the project's image files.
"""

from __future__ import annotations

from core.annotations import Annotations
from core.errors import FormatError, MaskStudioError
from core.formats import categories as cat_fmt
from core.formats.archive import read_zip, zip_files
from core.formats.coco import dumps_coco, loads_coco
from core.formats.common import ImportResult
from core.formats.seed_json import dumps_seed_json, loads_seed_json
from core.formats.voc import dumps_voc, loads_voc
from core.formats.yolo import dumps_yolo, loads_yolo
from core.projects import Project, attach_to_files

ANNOTATION_FORMATS = {
    "seed": "Seed JSON",
    "coco": "COCO JSON",
    "voc": "Pascal VOC (zip of XML)",
    "yolo": "YOLO (zip of txt + classes.txt)",
}
IMPORT_TYPES = {"seed": ["json"], "coco": ["json"], "voc": ["zip", "xml"], "yolo": ["zip"]}
IMPORT_HELP = {
    "seed": 'The seed layout: "categories" plus "images" with "rectangles" [x1, y1, x2, y2] and '
    '"rect_to_category". "src" is informational and never read.',
    "coco": "A COCO detection file (images, categories, annotations with bbox [x, y, w, h]).",
    "voc": "One Pascal VOC XML per image, zipped (or a single XML file).",
    "yolo": "A zip with classes.txt and one <image-stem>.txt per image (class cx cy w h, normalised). "
    "Image sizes are read from this project's images, so add the images first.",
}
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


def export_annotations(project: Project, ann: Annotations, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, file name, mime type) of the annotations in `fmt`."""
    if fmt == "seed":
        return dumps_seed_json(ann).encode("utf-8"), f"{project.name}_annotations.json", "application/json"
    sizes = project_sizes(
        project, [n for n in ann.images if ann.images[n].boxes or n in project.list_images()]
    )
    missing = sorted(n for n, a in ann.images.items() if a.boxes and n not in sizes)
    if missing:
        raise FormatError(f"needs image sizes, but these images are missing: {', '.join(missing[:5])}")
    if fmt == "coco":
        return dumps_coco(ann, sizes), f"{project.name}_coco.json", "application/json"
    if fmt == "voc":
        return zip_files(dumps_voc(ann, sizes)), f"{project.name}_voc.zip", "application/zip"
    if fmt == "yolo":
        return zip_files(dumps_yolo(ann, sizes)), f"{project.name}_yolo.zip", "application/zip"
    raise FormatError(f"unknown format {fmt!r}")


def _members(filename: str, data: bytes, suffixes: tuple[str, ...]) -> dict[str, bytes]:
    if filename.lower().endswith(".zip"):
        files = read_zip(data, file=filename)
    else:
        files = {filename: data}
    return {k: v for k, v in files.items() if k.lower().endswith(suffixes)}


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


def clip_to_sizes(result: ImportResult, sizes: dict[str, tuple[int, int]]) -> ImportResult:
    """Boxes of images whose size is known, clipped to the image (a box larger than its image is
    never stored); a box left too small is skipped and listed."""
    ann = result.annotations
    for name, entry in ann.images.items():
        size = sizes.get(name)
        if size is None or all(b.clipped(*size) == b for b in entry.boxes):
            continue
        boxes, entry.boxes = entry.boxes, []
        _, refused = ann.try_add_boxes(name, boxes, image_size=size)
        result.skipped += [f"{name} box {list(b.xyxy)}: {exc.message} (after clipping)" for b, exc in refused]
    return result


def import_annotations(project: Project, fmt: str, filename: str, data: bytes) -> ImportResult:
    """Validate an uploaded annotation file. Nothing is saved here: the caller decides.

    Every failure is a FormatError naming the file (and image and field where known); boxes of
    images the project holds are clipped to the image."""
    try:
        result = _import(project, fmt, filename, data)
    except Exception as exc:  # noqa: BLE001 - every importer failure becomes one clear error
        raise as_format_error(exc, file=filename) from exc
    if fmt != "yolo":  # YOLO boxes are made from the image sizes already
        try:
            attach_to_files(result.annotations, project.list_images())
            clip_to_sizes(result, project_sizes(project, [n for n in result.annotations.images]))
        except MaskStudioError as exc:
            raise as_format_error(exc, file=filename) from exc
    return result


def _import(project: Project, fmt: str, filename: str, data: bytes) -> ImportResult:
    if fmt == "seed":
        return loads_seed_json(data, file=filename)
    if fmt == "coco":
        return loads_coco(data, file=filename)
    if fmt == "voc":
        files = _members(filename, data, (".xml",))
        if not files:
            raise FormatError("no .xml files found", file=filename)
        return loads_voc(files, categories=project.load().categories)
    if fmt == "yolo":
        files = _members(filename, data, (".txt",))
        if not files:
            raise FormatError("no .txt files found", file=filename)
        return loads_yolo(files, project_sizes(project))
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
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear error
        raise as_format_error(exc, file=filename) from exc
