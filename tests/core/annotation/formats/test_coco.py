"""COCO JSON: layout written, validation of uploads."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.formats.coco import from_coco_dict, loads_coco, to_coco_dict
from core.errors import FormatError

GOOD: dict[str, Any] = {
    "images": [
        {"id": 7, "file_name": "IMG_1.JPG", "width": 400, "height": 300},
        {"id": 8, "file_name": "IMG_2.JPG", "width": 100, "height": 100},
    ],
    "categories": [{"id": 1, "name": "with_mask"}, {"id": 3, "name": "without_mask"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0},
        {"id": 2, "image_id": 7, "category_id": 1, "bbox": [100.4, 20, 50, 50], "score": 0.75},
        {"id": 3, "image_id": 8, "category_id": 1, "bbox": [80, 80, 50, 50]},
    ],
}


def test_export_layout() -> None:
    ann = Annotations(["mask"])
    ann.add_box("IMG_10.jpg", Box(5, 6, 25, 36, "mask", 0.5))
    ann.add_box("IMG_2.jpg", Box(0, 0, 10, 10))
    assert [
        c["name"] for c in to_coco_dict(ann, {"IMG_10.jpg": (640, 480), "IMG_2.jpg": (20, 20)})["categories"]
    ] == ["mask"]
    data = to_coco_dict(ann, {"IMG_10.jpg": (640, 480), "IMG_2.jpg": (20, 20)}, include_none=True)
    assert data["categories"] == [
        {"id": 1, "name": "mask", "supercategory": "face"},
        {"id": 2, "name": "None", "supercategory": "face"},
    ]
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in data["images"]] == [
        (1, "IMG_2.jpg", 20, 20),
        (2, "IMG_10.jpg", 640, 480),
    ]
    assert data["annotations"] == [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 2,
            "bbox": [0, 0, 10, 10],
            "area": 100,
            "iscrowd": 0,
            "segmentation": [],
        },
        {
            "id": 2,
            "image_id": 2,
            "category_id": 1,
            "bbox": [5, 6, 20, 30],
            "area": 600,
            "iscrowd": 0,
            "segmentation": [],
            "score": 0.5,
        },
    ]


def test_import_maps_ids_and_clips_to_the_image() -> None:
    result = from_coco_dict(GOOD)
    ann = result.annotations
    assert ann.categories == ["None", "with_mask", "without_mask"]
    assert ann.boxes("IMG_1.JPG") == [
        Box(10, 20, 40, 60, "without_mask"),
        Box(100, 20, 150, 70, "with_mask", 0.75),
    ]
    assert ann.boxes("IMG_2.JPG") == [Box(80, 80, 100, 100, "with_mask")]  # clipped to 100 x 100
    assert result.skipped == []


def test_crowd_regions_are_skipped_and_reported() -> None:
    data = copy.deepcopy(GOOD)
    data["annotations"][0]["iscrowd"] = 1
    result = from_coco_dict(data)
    assert len(result.annotations.boxes("IMG_1.JPG")) == 1
    assert len(result.skipped) == 1 and "crowd" in result.skipped[0]


def test_images_without_annotations_are_kept() -> None:
    data = copy.deepcopy(GOOD)
    data["annotations"] = []
    assert sorted(from_coco_dict(data).annotations.images) == ["IMG_1.JPG", "IMG_2.JPG"]


def _bad(path: str, value: Any) -> dict[str, Any]:
    """GOOD with the item at `path` ("annotations.0.bbox") replaced by `value`, or removed for ...)."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "image", "field"),
    [
        ([GOOD], "", ""),
        (_bad("images", {"id": 7}), "", "images"),
        (_bad("categories", []), "", "categories"),
        (_bad("categories", ...), "", "categories"),
        (_bad("categories.0.name", 5), "", "categories"),
        (_bad("categories.1.name", "with_mask"), "", "categories[1]"),
        (_bad("categories.1.id", 1), "", "categories[1].id"),
        (_bad("categories.1.id", True), "", "categories[1].id"),
        (_bad("images.0.id", None), "", "images[0].id"),
        (_bad("images.1.id", 7), "IMG_2.JPG", "images[1].id"),
        (_bad("images.1.file_name", "IMG_1.JPG"), "IMG_1.JPG", "images[1]"),
        (_bad("images.0.file_name", "images/.."), "..", ""),
        (_bad("images.0.file_name", "a/\x00.jpg"), "\x00.jpg", ""),
        (_bad("images.0.file_name", ""), "", ""),
        (_bad("images.0.width", 0), "IMG_1.JPG", "images[0].width"),
        (_bad("images.0.width", "400"), "IMG_1.JPG", "images[0].width"),
        (_bad("images.0.height", 300.5), "IMG_1.JPG", "images[0].height"),
        (_bad("images.0.height", ...), "IMG_1.JPG", "images[0].height"),
        (_bad("annotations.0", [1, 2]), "", "annotations"),
        (_bad("annotations.0.image_id", 99), "", "annotations[0].image_id"),
        (_bad("annotations.0.category_id", 2), "IMG_1.JPG", "annotations[0].category_id"),
        (_bad("annotations.0.category_id", ...), "IMG_1.JPG", "annotations[0].category_id"),
        (_bad("annotations.0.bbox", [1, 2, 3]), "IMG_1.JPG", "annotations[0].bbox"),
        (_bad("annotations.0.bbox", "10,20,30,40"), "IMG_1.JPG", "annotations[0].bbox"),
        (_bad("annotations.0.bbox", [10, "20", 30, 40]), "IMG_1.JPG", "annotations[0].bbox"),
        (_bad("annotations.0.bbox", [-5, 20, 30, 40]), "IMG_1.JPG", "annotations[0].bbox"),
        (_bad("annotations.0.bbox", [10, 20, -30, 40]), "IMG_1.JPG", "annotations[0].bbox"),
        (_bad("annotations.0.bbox", [10, 20, 30, 0]), "IMG_1.JPG", "annotations[0].bbox"),
        (_bad("annotations.0.score", "high"), "IMG_1.JPG", "annotations[0].score"),
    ],
)
def test_bad_structure_is_located(data: Any, image: str, field: str) -> None:
    with pytest.raises(FormatError) as info:
        from_coco_dict(data, file="coco.json")
    assert (info.value.file, info.value.image, info.value.field) == ("coco.json", image, field)


@pytest.mark.parametrize(
    ("token", "field"),
    [
        ("NaN", "annotations[0].bbox[0]"),
        ("Infinity", "annotations[0].bbox[0]"),
        ("-Infinity", "annotations[0].bbox[0]"),
    ],
)
def test_nan_tokens_are_refused(token: str, field: str) -> None:
    text = json.dumps(GOOD).replace('"bbox": [10,', f'"bbox": [{token},', 1)
    with pytest.raises(FormatError) as info:
        loads_coco(text, file="coco.json")
    assert (info.value.file, info.value.field) == ("coco.json", field)


def test_rule_breaking_boxes_are_skipped() -> None:
    data = _bad("annotations.1.bbox", [15, 25, 30, 40])  # overlaps the first box by far more than 20%
    result = from_coco_dict(data)
    assert len(result.annotations.boxes("IMG_1.JPG")) == 1
    assert len(result.skipped) == 1 and "overlaps" in result.skipped[0]


class _CountingList(list[str]):
    """A category list that counts how many elements the export reads through it."""

    def __init__(self, items: list[str]) -> None:
        super().__init__(items)
        self.reads = 0

    def __iter__(self) -> Iterator[str]:
        for item in super().__iter__():
            self.reads += 1
            yield item

    def index(self, value: str, *args: Any) -> int:
        self.reads += len(self)  # what a linear search costs
        return super().index(value, *args)


@pytest.mark.parametrize("with_source", [False, True])
def test_export_is_linear_in_the_number_of_categories(
    with_source: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.annotation.formats.coco as coco

    n = 100_000
    ann = Annotations([f"c{i}" for i in range(n)])
    if with_source:  # half the categories keep ids from a COCO source, the others get the next free ids
        ann.extra[coco.CATEGORIES_KEY] = [
            {"id": i + 1, "name": f"c{i}", "supercategory": "s"} for i in range(0, n, 2)
        ]
    ann.categories = _CountingList(ann.categories)
    scans = []
    real_next_int = coco._next_int
    monkeypatch.setattr(coco, "_next_int", lambda used: scans.append(len(used)) or real_next_int(used))

    cats = to_coco_dict(ann, {})["categories"]

    assert [c["name"] for c in cats] == [f"c{i}" for i in range(n)]
    ids = [c["id"] for c in cats]
    assert len(set(ids)) == n
    if with_source:
        assert ids[0:4] == [1, n, 3, n + 1]  # kept source ids, then one past the largest id in use
    else:
        assert ids[:3] == [1, 2, 3]
    assert ann.categories.reads <= 5 * n  # a few passes, not one search per category
    assert sum(scans) <= n  # the largest id in use is found once, not once per category
