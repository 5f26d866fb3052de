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
from core.projects import Project

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


def import_annotations(project: Project, fmt: str, filename: str, data: bytes) -> ImportResult:
    """Validate an uploaded annotation file. Nothing is saved here: the caller decides."""
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
    """Category names from an uploaded JSON or CSV (or XLSX) file."""
    return cat_fmt.loads_categories(data, filename)
