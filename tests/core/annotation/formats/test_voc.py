"""Pascal VOC XML: the real Kaggle files, 1-based coordinates, hostile XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.formats.voc import dumps_voc, load_voc_dir, loads_voc, parse_voc_xml
from core.errors import FormatError

VOC_DIR = "face_mask_detection_voc/annotations"


def _xml(
    objects: str = "", *, filename: str = "a.jpg", size: str = "<width>100</width><height>80</height>"
) -> bytes:
    return (
        f"<annotation><filename>{filename}</filename><size>{size}<depth>3</depth></size>{objects}</annotation>"
    ).encode()


def _obj(name: str = "mask", xmin: str = "11", ymin: str = "21", xmax: str = "40", ymax: str = "60") -> str:
    return (
        f"<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def test_real_file(shared_data: Path) -> None:
    path = shared_data / VOC_DIR / "maksssksksss105.xml"
    image, size, boxes = parse_voc_xml(path.read_bytes(), file=path.name)
    assert (image, size, len(boxes)) == ("maksssksksss105.jpg", (400, 267), 9)
    assert boxes[0].xyxy == (177, 142, 213, 202) and boxes[0].label == "with_mask"


def _objects(root: ET.Element) -> list[tuple[str | None, tuple[str | None, ...]]]:
    return [
        (o.findtext("name"), tuple(o.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")))
        for o in root.iter("object")
    ]


def test_real_folder_round_trips_exactly(shared_data: Path) -> None:
    folder = shared_data / VOC_DIR
    result = load_voc_dir(folder)
    ann = result.annotations
    assert len(ann.images) == 100
    assert set(ann.categories) == {"None", "with_mask", "without_mask", "mask_weared_incorrect"}
    assert result.box_count + len(result.skipped) == 606  # SOURCE.md: 508 + 82 + 16 faces
    originals = {p.name: ET.parse(p).getroot() for p in folder.glob("*.xml")}
    sizes = {
        r.findtext("filename"): (int(r.findtext("size/width")), int(r.findtext("size/height")))
        for r in originals.values()
    }
    written = dumps_voc(ann, sizes)
    assert sorted(written) == sorted(originals)
    dropped = 0
    for name, original in originals.items():
        before, after = _objects(original), _objects(ET.fromstring(written[name]))
        assert [o for o in before if o in after] == after  # same names and numbers, same order
        dropped += len(before) - len(after)
    assert dropped == len(result.skipped)


def test_stray_text_after_bndbox_is_ignored() -> None:
    obj = _obj().replace("</bndbox>", "</bndbox>C:\\Users\\someone\\Desktop\\images\\a.png")
    _, _, boxes = parse_voc_xml(_xml(obj), file="a.xml")
    assert [b.xyxy for b in boxes] == [(10, 20, 40, 60)]


def test_unknown_names_become_categories_after_the_given_ones() -> None:
    files = {
        "b.xml": _xml(_obj("zeta") + _obj("mask", "51", "1", "90", "40"), filename="b.jpg"),
        "a.xml": _xml(_obj("alpha")),
        "notes.txt": b"ignored",
    }
    result = loads_voc(files, categories=["None", "mask", "unused"])
    assert result.annotations.categories == ["None", "mask", "unused", "alpha", "zeta"]
    assert [b.label for b in result.annotations.boxes("b.jpg")] == ["zeta", "mask"]


def test_zero_based_and_oversized_boxes() -> None:
    objects = _obj(xmin="0", ymin="0", xmax="30", ymax="30") + _obj(
        xmin="51", ymin="41", xmax="130", ymax="95"
    )
    boxes = loads_voc({"a.xml": _xml(objects)}).annotations.boxes("a.jpg")
    assert [b.xyxy for b in boxes] == [(0, 0, 30, 30), (50, 40, 100, 80)]  # clipped to 100 x 80


def test_unknown_size_means_no_clipping() -> None:
    files = {"a.xml": _xml(_obj(xmax="400"), size="<width>0</width><height>0</height>")}
    assert loads_voc(files).annotations.boxes("a.jpg")[0].xyxy == (10, 20, 400, 60)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><filename>&lol3;</filename></annotation>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>&xxe;</filename></annotation>"""


@pytest.mark.parametrize(
    "data",
    [
        BILLION_LAUGHS,
        XXE,
        b'<!DOCTYPE annotation SYSTEM "http://example.com/voc.dtd"><annotation/>',
        BILLION_LAUGHS.decode()
        .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
        .encode("utf-16"),
    ],
    ids=["billion-laughs", "xxe", "external-dtd", "utf16-doctype"],
)
def test_dtd_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(FormatError) as info:
        loads_voc({"evil.xml": data})
    assert info.value.file == "evil.xml" and "DOCTYPE" in info.value.detail


@pytest.mark.parametrize(
    ("data", "image", "field"),
    [
        (b"<annotation><filename>a.jpg</filename>", "", ""),
        (b"not xml at all", "", ""),
        (b"<voc><filename>a.jpg</filename></voc>", "", ""),
        (_xml(filename="../evil.jpg"), "../evil.jpg", ""),
        (_xml(filename="sub/a.jpg"), "sub/a.jpg", ""),
        (_xml(size="<width>wide</width><height>80</height>"), "a.jpg", "size/width"),
        (_xml(size="<width>-100</width><height>80</height>"), "a.jpg", "size/width"),
        (_xml(size="<width>100.5</width><height>80</height>"), "a.jpg", "size/width"),
        (_xml(_obj(name="")), "a.jpg", "object[0]/name"),
        (_xml(_obj() + _obj(name="x" * 101)), "a.jpg", "object[1]/name"),
        (_xml("<object><name>mask</name></object>"), "a.jpg", "object[0]/bndbox"),
        (_xml(_obj(xmin="abc")), "a.jpg", "object[0]/bndbox/xmin"),
        (_xml(_obj(ymin="")), "a.jpg", "object[0]/bndbox/ymin"),
        (_xml(_obj(xmax="nan")), "a.jpg", "object[0]/bndbox/xmax"),
        (_xml(_obj(ymax="inf")), "a.jpg", "object[0]/bndbox/ymax"),
        (_xml(_obj(xmin="-3")), "a.jpg", "object[0]/bndbox"),
        (_xml(_obj(xmin="50", xmax="40")), "a.jpg", "object[0]/bndbox"),
        (_xml(_obj(ymin="70", ymax="60")), "a.jpg", "object[0]/bndbox"),
    ],
)
def test_bad_files_are_located(data: bytes, image: str, field: str) -> None:
    with pytest.raises(FormatError) as info:
        loads_voc({"a.xml": data})
    assert (info.value.file, info.value.image, info.value.field) == ("a.xml", image, field)


def test_two_files_for_one_image_are_refused() -> None:
    with pytest.raises(FormatError) as info:
        loads_voc({"a.xml": _xml(_obj()), "copy.xml": _xml(_obj())})
    assert (info.value.file, info.value.image) == ("copy.xml", "a.jpg")


def test_no_xml_files() -> None:
    with pytest.raises(FormatError):
        loads_voc({"readme.txt": b"hello"})


def test_export_names_and_one_based_coordinates() -> None:
    ann = Annotations(["mask"])
    ann.add_box("IMG_1.jpg", Box(0, 0, 10, 12, "mask"))
    ann.add_box("IMG_1.png", Box(5, 5, 20, 20))
    files = dumps_voc(ann, {"IMG_1.jpg": (50, 40), "IMG_1.png": (30, 30)})
    assert sorted(files) == ["IMG_1.png.xml", "IMG_1.xml"]
    root = ET.fromstring(files["IMG_1.xml"])
    assert root.findtext("filename") == "IMG_1.jpg"
    assert [root.findtext(f"size/{k}") for k in ("width", "height", "depth")] == ["50", "40", "3"]
    assert [root.findtext(f"object/bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == [
        "1",
        "1",
        "10",
        "12",
    ]
    assert ET.fromstring(files["IMG_1.png.xml"]).findtext("object/name") == "None"
