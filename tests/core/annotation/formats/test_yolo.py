"""core.annotation.formats.yolo: the layout written; names YOLO cannot export."""

from __future__ import annotations

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.formats.yolo import dumps_yolo
from core.annotation.formats.yolo_import import loads_yolo
from core.errors import FormatError

SIZES = {"IMG_1.JPG": (200, 100), "IMG_2.png": (50, 50)}
CLASSES = b"None\nmask\nno_mask\n"


def test_export_layout_leaves_none_out_unless_asked_then_last() -> None:
    ann = Annotations(["mask", "no_mask"])
    ann.add_box("IMG_1.JPG", Box(10, 20, 50, 60, "no_mask"))
    ann.add_box("IMG_1.JPG", Box(100, 0, 200, 100, "None", 0.875))
    assert dumps_yolo(ann, SIZES) == {
        "classes.txt": b"mask\nno_mask\n",
        "IMG_1.txt": b"1 0.150000 0.400000 0.200000 0.400000\n",
    }
    files = dumps_yolo(ann, SIZES, include_none=True)
    assert files == {
        "classes.txt": b"mask\nno_mask\nNone\n",
        "IMG_1.txt": b"1 0.150000 0.400000 0.200000 0.400000\n2 0.750000 0.500000 0.500000 1.000000 0.875000\n",
    }


def test_stems_shared_by_two_images() -> None:
    sizes = {"IMG_1.jpg": (10, 10), "IMG_1.png": (10, 10), "IMG_2.jpg": (10, 10)}
    assert "IMG_2.jpg" in loads_yolo({"classes.txt": CLASSES, "IMG_2.txt": b""}, sizes).annotations.images
    with pytest.raises(FormatError) as info:
        loads_yolo({"classes.txt": CLASSES, "IMG_1.txt": b""}, sizes)
    assert info.value.file == "IMG_1.txt"
    ann = Annotations()
    ann.add_box("IMG_1.jpg", Box(0, 0, 10, 10))
    ann.add_box("IMG_1.png", Box(0, 0, 10, 10))
    with pytest.raises(FormatError):
        dumps_yolo(ann, sizes)


def test_an_image_named_classes_cannot_be_exported() -> None:
    ann = Annotations()
    ann.add_box("classes.jpg", Box(0, 0, 10, 10))
    with pytest.raises(FormatError) as info:
        dumps_yolo(ann, {"classes.jpg": (10, 10)})
    assert info.value.image == "classes.jpg"
