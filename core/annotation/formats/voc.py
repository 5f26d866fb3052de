"""Pascal VOC XML: one file per image.

    <annotation><filename>IMG_1.jpg</filename><size><width>..</width><height>..</height></size>
      <object><name>mask</name><bndbox><xmin>..</xmin>..<ymax>..</ymax></bndbox></object>
    </annotation>

Coordinates follow the VOC devkit: 1-based and inclusive, so pixel columns xmin..xmax are in the
box. Mask Studio boxes are 0-based with exclusive x2/y2, hence on export xmin = x1 + 1 and
xmax = x2, and on import x1 = xmin - 1 and x2 = xmax: a round trip is exact. (The shared Kaggle
set agrees: xmin is never 0 and xmax reaches the image width.) Some writers are 0-based with exclusive xmax/ymax (Label Studio:
xmin = x, xmax = x + w); read 1-based they land 1 px up and left, so the import takes an
`origin`: "1", "0", or "auto", which reads an upload as 0-based when Label Studio wrote it
(`<owner><name>Label Studio</name>`) or when any xmin/ymin is 0 (a 1-based file has no 0).

A file without `<filename>` (URPC style) names its image by the XML's own stem, and a filename
without extension (Label Studio) is matched by stem; both use the project's images when they
know the name. `difficult`, `truncated`, `occluded`, `pose`, `<part>` and `<attributes>` are not
kept: their non-default values are counted in the import's dropped counts.

VOC carries no category list and no scores: unknown class names become categories, in order of
first appearance after the `categories` passed in. `"None"` boxes are written as `<name>None</name>`.
Uploaded XML is untrusted: DOCTYPE and ENTITY declarations are refused (billion laughs, XXE).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape

from core.annotation.annotations import NONE, Annotations, Box, validate_category_name
from core.annotation.formats.common import (
    RULES_APPLY,
    ImportResult,
    RawBox,
    build_annotations,
    check_image_name,
    exportable_images,
    number_from_text,
    read_file_bytes,
)
from core.errors import CategoryError, FormatError
from core.fsutil import atomic_write_bytes, natural_key

MAX_XML_BYTES = 5 * 1024 * 1024
_COORDS = ("xmin", "ymin", "xmax", "ymax")


class _DtdRefused(Exception):
    pass


def _refuse(*_args: object) -> NoReturn:
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
    return number_from_text(text, file=file, image=image, fld=fld)


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


#: Import origins: "1" (the VOC devkit), "0" (0-based, exclusive max), "auto" (detect).
ORIGINS = ("auto", "1", "0")
_FLAG_TAGS = ("difficult", "truncated", "occluded")


@dataclass
class VocFile:
    """One parsed VOC file: boxes as written (not yet shifted), and what it carries besides."""

    image: str
    size: tuple[int, int] | None
    boxes: list[RawBox]
    label_studio: bool = False
    has_zero: bool = False
    dropped: Counter[str] = field(default_factory=Counter)


def stems_of(names: Iterable[str]) -> dict[str, list[str]]:
    """{stem: names with that stem}, to match image names written without extension."""
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(PurePosixPath(name).stem, []).append(name)
    return out


def _image_name(root: ET.Element, *, file: str, known_stems: dict[str, list[str]]) -> str:
    """<filename>, or the XML's own stem when absent; a name without extension matched by stem."""
    written = _text(root, "filename")
    stem = written if written else PurePosixPath(file.replace("\\", "/")).stem
    if written and PurePosixPath(written).suffix:
        return check_image_name(written, file=file)
    matches = known_stems.get(stem, [])
    return check_image_name(matches[0] if len(matches) == 1 else (written or f"{stem}.jpg"), file=file)


def read_voc_file(data: bytes, *, file: str, known_stems: dict[str, list[str]] | None = None) -> VocFile:
    """Parse one VOC file; boxes keep the file's own numbers (see parse_voc_xml for pixels).

    `known_stems` (see stems_of) name the image of a file without an extension in <filename>.
    """
    root = parse_untrusted_xml(data, file=file)
    if root.tag != "annotation":
        raise FormatError(f"root element must be <annotation>, got <{root.tag}>", file=file)
    image = _image_name(root, file=file, known_stems=known_stems or {})
    out = VocFile(image, _size(root, file=file, image=image), [])
    out.label_studio = _text(root, "owner/name") == "Label Studio"
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
        out.has_zero = out.has_zero or xmin == 0 or ymin == 0
        for tag in _FLAG_TAGS:
            if _text(obj, tag) not in (None, "", "0", "false", "False"):
                out.dropped[tag] += 1
        if _text(obj, "pose") not in (None, "", "Unspecified", "unspecified"):
            out.dropped["pose"] += 1
        out.dropped["part"] += len(obj.findall("part"))
        attributes = obj.find("attributes")
        if attributes is not None and len(attributes):
            out.dropped["attributes"] += 1
        out.boxes.append(RawBox(xmin, ymin, xmax, ymax, label))
    return out


def _to_pixels(boxes: list[RawBox], zero_based: bool) -> list[RawBox]:
    """0-based exclusive pixels: 1-based files move up-left by 1 on the min side only."""
    if zero_based:
        return boxes
    return [replace(b, x1=max(b.x1 - 1, 0.0), y1=max(b.y1 - 1, 0.0)) for b in boxes]


def parse_voc_xml(
    data: bytes, *, file: str, origin: str = "1"
) -> tuple[str, tuple[int, int] | None, list[RawBox]]:
    """(image name, (width, height) or None, raw boxes in 0-based exclusive pixels) of one file."""
    vf = read_voc_file(data, file=file)
    zero = origin == "0" or (origin == "auto" and (vf.label_studio or vf.has_zero))
    return vf.image, vf.size, _to_pixels(vf.boxes, zero)


def loads_voc(
    files: dict[str, bytes],
    *,
    categories: Iterable[str] = (NONE,),
    known_images: Iterable[str] = (),
    origin: str = "1",
    rules: str = RULES_APPLY,
) -> ImportResult:
    """Annotations from {file name: XML bytes}; files not ending in .xml are ignored.

    `origin` is "1", "0" or "auto" (see the module docstring); `known_images` are the project's.
    """
    if origin not in ORIGINS:
        raise FormatError(f"unknown origin {origin!r}; use one of {', '.join(ORIGINS)}")
    cats = list(categories)
    known = stems_of(known_images)
    parsed: dict[str, VocFile] = {}
    source: dict[str, str] = {}
    names = sorted((n for n in files if n.lower().endswith(".xml")), key=natural_key)
    if not names:
        raise FormatError("no .xml files found", file="(upload)")
    for fname in names:
        vf = read_voc_file(files[fname], file=fname, known_stems=known)
        if vf.image in parsed:
            raise FormatError(f"image also described by {source[vf.image]}", file=fname, image=vf.image)
        source[vf.image] = fname
        parsed[vf.image] = vf
        cats.extend(dict.fromkeys(b.label for b in vf.boxes if b.label not in cats))
    notes: list[str] = []
    zero = origin == "0"
    if origin == "auto":
        by_ls = any(v.label_studio for v in parsed.values())
        zero = by_ls or any(v.has_zero for v in parsed.values())
        why = "written by Label Studio" if by_ls else "a coordinate is 0" if zero else "no coordinate is 0"
        notes.append(f"Read as {'0' if zero else '1'}-based VOC ({why}).")
    raw = {image: _to_pixels(v.boxes, zero) for image, v in parsed.items()}
    sizes = {image: v.size for image, v in parsed.items() if v.size is not None}
    result = build_annotations(cats, raw, sizes=sizes, rules=rules)
    for v in parsed.values():
        result.dropped.update(v.dropped)
    result.notes.extend(notes)
    return result


def voc_xml(image: str, size: tuple[int, int], boxes: Iterable[Box]) -> bytes:
    """One VOC file for `image` of `size` (width, height), indented by two spaces.

    Written as text (the same bytes ElementTree with ET.indent gives, several times faster).
    """
    lines = [
        "<annotation>",
        "  <folder>images</folder>",
        f"  <filename>{escape(image)}</filename>",
        "  <size>",
        f"    <width>{int(size[0])}</width>",
        f"    <height>{int(size[1])}</height>",
        "    <depth>3</depth>",
        "  </size>",
        "  <segmented>0</segmented>",
    ]
    for b in boxes:
        lines += [
            "  <object>",
            f"    <name>{escape(b.label)}</name>",
            "    <pose>Unspecified</pose>",
            "    <truncated>0</truncated>",
            "    <difficult>0</difficult>",
            "    <bndbox>",
            *(
                f"      <{k}>{v}</{k}>"
                for k, v in zip(_COORDS, (b.x1 + 1, b.y1 + 1, b.x2, b.y2), strict=True)
            ),
            "    </bndbox>",
            "  </object>",
        ]
    lines.append("</annotation>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def dumps_voc(ann: Annotations, sizes: dict[str, tuple[int, int]]) -> dict[str, bytes]:
    """{"IMG_1.xml": bytes, ...}; `sizes` maps image -> (width, height) (see exportable_images)."""
    out: dict[str, bytes] = {}
    for image in exportable_images(ann, sizes):
        xml_name = f"{PurePosixPath(image).stem}.xml"
        if xml_name in out:
            xml_name = f"{image}.xml"
        out[xml_name] = voc_xml(image, sizes[image], ann.images[image].boxes)
    return out


def load_voc_dir(
    folder: str | os.PathLike[str], *, categories: Iterable[str] = (NONE,), origin: str = "1"
) -> ImportResult:
    """Annotations from every *.xml file in `folder`."""
    files: dict[str, bytes] = {}
    for p in Path(folder).glob("*.xml"):
        files[p.name] = read_file_bytes(p)
    return loads_voc(files, categories=categories, origin=origin)


def save_voc_dir(
    ann: Annotations, sizes: dict[str, tuple[int, int]], folder: str | os.PathLike[str]
) -> list[Path]:
    """Write one VOC file per image into `folder`, atomically each."""
    return [atomic_write_bytes(Path(folder) / name, data) for name, data in dumps_voc(ann, sizes).items()]


def voc_folder_files(folder: Path) -> tuple[list[Path], dict[str, Path]]:
    """The .xml files anywhere under `folder` (natural order) and its images by file name and by
    stem (the first found wins): a VOC scene set laid out any way."""
    from core.imaging import is_image_name

    xmls = sorted(folder.rglob("*.xml"), key=lambda p: natural_key(p.name))
    images: dict[str, Path] = {}
    for p in folder.rglob("*"):
        if p.is_file() and is_image_name(p.name):
            images.setdefault(p.name, p)
            images.setdefault(p.stem, p)
    return xmls, images


def voc_image(images: dict[str, Path], name: str, xml: Path) -> Path | None:
    """The image an XML names: by its <filename>, that name's stem, or the XML's own stem."""
    return images.get(name) or images.get(Path(name).stem) or images.get(xml.stem)
