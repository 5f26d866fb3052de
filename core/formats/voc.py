"""Pascal VOC XML: one file per image.

    <annotation><filename>IMG_1.jpg</filename><size><width>..</width><height>..</height></size>
      <object><name>mask</name><bndbox><xmin>..</xmin>..<ymax>..</ymax></bndbox></object>
    </annotation>

Coordinates follow the VOC devkit: 1-based and inclusive, so pixel columns xmin..xmax are in the
box. Mask Studio boxes are 0-based with exclusive x2/y2, hence on export xmin = x1 + 1 and
xmax = x2, and on import x1 = xmin - 1 and x2 = xmax: a round trip is exact. (The shared Kaggle
set agrees: xmin is never 0 and xmax reaches the image width.) A 0 written by a 0-based tool is
read as 0, a 1 px shift for those files only.

VOC carries no category list and no scores: unknown class names become categories, in order of
first appearance after the `categories` passed in. `"None"` boxes are written as `<name>None</name>`.
Uploaded XML is untrusted: DOCTYPE and ENTITY declarations are refused (billion laughs, XXE).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from core.annotations import NONE, Annotations, Box, validate_category_name
from core.errors import CategoryError, FormatError
from core.formats.common import ImportResult, RawBox, build_annotations, check_image_name, exportable_images
from core.fsutil import atomic_write_bytes, natural_key

MAX_XML_BYTES = 5 * 1024 * 1024
_COORDS = ("xmin", "ymin", "xmax", "ymax")


class _DtdRefused(Exception):
    pass


def _refuse(*_args: object) -> None:
    raise _DtdRefused


def check_no_dtd(data: bytes, *, file: str) -> None:
    """FormatError unless `data` is well-formed XML without DOCTYPE or ENTITY declarations."""
    if len(data) > MAX_XML_BYTES:
        raise FormatError(f"XML file is larger than {MAX_XML_BYTES:,} bytes", file=file)
    probe = expat.ParserCreate()
    probe.StartDoctypeDeclHandler = _refuse
    probe.EntityDeclHandler = _refuse
    probe.UnparsedEntityDeclHandler = _refuse
    probe.ExternalEntityRefHandler = _refuse
    try:
        probe.Parse(data, True)
    except _DtdRefused as exc:
        raise FormatError("DOCTYPE/ENTITY declarations are not allowed in XML", file=file) from exc
    except expat.ExpatError as exc:
        raise FormatError(f"not well-formed XML ({exc})", file=file) from exc


def parse_untrusted_xml(data: bytes, *, file: str) -> ET.Element:
    """The root element of `data`, after check_no_dtd."""
    check_no_dtd(data, file=file)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:  # pragma: no cover - check_no_dtd parsed it already
        raise FormatError(f"not well-formed XML ({exc})", file=file) from exc


def _text(parent: ET.Element, path: str) -> str | None:
    node = parent.find(path)
    return None if node is None or node.text is None else node.text.strip()


def _number(text: str | None, *, file: str, image: str, fld: str) -> float:
    if text is None or text == "":
        raise FormatError("missing", file=file, image=image, field=fld)
    try:
        value = float(text)
    except ValueError as exc:
        raise FormatError(f"expected a number, got {text!r}", file=file, image=image, field=fld) from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise FormatError(f"expected a finite number, got {text!r}", file=file, image=image, field=fld)
    return value


def _size(root: ET.Element, *, file: str, image: str) -> tuple[int, int] | None:
    """(width, height) from <size>; None when absent or 0 (some tools write 0)."""
    if root.find("size") is None:
        return None
    dims = []
    for key in ("width", "height"):
        value = _number(_text(root, f"size/{key}"), file=file, image=image, fld=f"size/{key}")
        if value < 0 or value != int(value):
            raise FormatError(
                f"must be a whole number >= 0, got {value}", file=file, image=image, field=f"size/{key}"
            )
        dims.append(int(value))
    return None if 0 in dims else (dims[0], dims[1])


def parse_voc_xml(data: bytes, *, file: str) -> tuple[str, tuple[int, int] | None, list[RawBox]]:
    """(image name, (width, height) or None, raw boxes in 0-based exclusive pixels) of one file."""
    root = parse_untrusted_xml(data, file=file)
    if root.tag != "annotation":
        raise FormatError(f"root element must be <annotation>, got <{root.tag}>", file=file)
    image = check_image_name(_text(root, "filename"), file=file)
    size = _size(root, file=file, image=image)
    boxes: list[RawBox] = []
    for i, obj in enumerate(root.findall("object")):
        where = f"object[{i}]"
        try:
            label = validate_category_name(_text(obj, "name"))
        except CategoryError as exc:
            raise FormatError(str(exc), file=file, image=image, field=f"{where}/name") from exc
        if obj.find("bndbox") is None:
            raise FormatError("missing", file=file, image=image, field=f"{where}/bndbox")
        xmin, ymin, xmax, ymax = (
            _number(_text(obj, f"bndbox/{k}"), file=file, image=image, fld=f"{where}/bndbox/{k}")
            for k in _COORDS
        )
        if min(xmin, ymin, xmax, ymax) < 0:
            raise FormatError("negative coordinate", file=file, image=image, field=f"{where}/bndbox")
        if xmax < xmin or ymax < ymin:
            raise FormatError(
                f"inverted box ({xmin}, {ymin}, {xmax}, {ymax})",
                file=file,
                image=image,
                field=f"{where}/bndbox",
            )
        boxes.append(RawBox((max(xmin - 1, 0.0), max(ymin - 1, 0.0), xmax, ymax), label))
    return image, size, boxes


def loads_voc(files: dict[str, bytes], *, categories: Iterable[str] = (NONE,)) -> ImportResult:
    """Annotations from {file name: XML bytes}; files not ending in .xml are ignored."""
    cats = list(categories)
    raw: dict[str, list[RawBox]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    source: dict[str, str] = {}
    names = sorted((n for n in files if n.lower().endswith(".xml")), key=natural_key)
    if not names:
        raise FormatError("no .xml files found", file="(upload)")
    for fname in names:
        image, size, boxes = parse_voc_xml(files[fname], file=fname)
        if image in raw:
            raise FormatError(f"image also described by {source[image]}", file=fname, image=image)
        source[image] = fname
        raw[image] = boxes
        if size is not None:
            sizes[image] = size
        cats.extend(b.label for b in boxes if b.label not in cats)
    return build_annotations(cats, raw, sizes=sizes)


def voc_xml(image: str, size: tuple[int, int], boxes: Iterable[Box]) -> bytes:
    """One VOC file for `image` of `size` (width, height)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "images"
    ET.SubElement(root, "filename").text = image
    size_el = ET.SubElement(root, "size")
    for key, value in zip(("width", "height", "depth"), (*size, 3), strict=True):
        ET.SubElement(size_el, key).text = str(int(value))
    ET.SubElement(root, "segmented").text = "0"
    for b in boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = b.label
        for key, value in (("pose", "Unspecified"), ("truncated", "0"), ("difficult", "0")):
            ET.SubElement(obj, key).text = value
        bnd = ET.SubElement(obj, "bndbox")
        for key, value in zip(_COORDS, (b.x1 + 1, b.y1 + 1, b.x2, b.y2), strict=True):
            ET.SubElement(bnd, key).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def dumps_voc(ann: Annotations, sizes: dict[str, tuple[int, int]]) -> dict[str, bytes]:
    """{"IMG_1.xml": bytes, ...}; `sizes` maps image -> (width, height) (see exportable_images)."""
    out: dict[str, bytes] = {}
    for image in exportable_images(ann, sizes):
        xml_name = f"{PurePosixPath(image).stem}.xml"
        if xml_name in out:
            xml_name = f"{image}.xml"
        out[xml_name] = voc_xml(image, sizes[image], ann.images[image].boxes)
    return out


def load_voc_dir(folder: str | os.PathLike[str], *, categories: Iterable[str] = (NONE,)) -> ImportResult:
    """Annotations from every *.xml file in `folder`."""
    files: dict[str, bytes] = {}
    for p in Path(folder).glob("*.xml"):
        try:
            files[p.name] = p.read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read ({exc.strerror or exc})", file=p.name) from exc
    return loads_voc(files, categories=categories)


def save_voc_dir(
    ann: Annotations, sizes: dict[str, tuple[int, int]], folder: str | os.PathLike[str]
) -> list[Path]:
    """Write one VOC file per image into `folder`, atomically each."""
    return [atomic_write_bytes(Path(folder) / name, data) for name, data in dumps_voc(ann, sizes).items()]
