"""core.annotation.formats.yolo_import: labels of other tools read; bad uploads located."""

from __future__ import annotations

import pytest

from core.annotation.annotations import Box
from core.annotation.formats.yolo_import import loads_yolo
from core.errors import FormatError

SIZES = {"IMG_1.JPG": (200, 100), "IMG_2.png": (50, 50)}
CLASSES = b"None\nmask\nno_mask\n"


def test_import_reads_scores_blank_lines_and_other_files() -> None:
    files = {
        "labels/classes.txt": CLASSES,
        "labels/IMG_1.txt": b"\n1 0.15 0.4 0.2 0.4\n\n0 0.75 0.5 0.5 1.0 0.875\n",
        "labels/IMG_2.txt": b"",
        "README.md": b"not a label",
    }
    result = loads_yolo(files, SIZES)
    ann = result.annotations
    assert ann.categories == ["None", "mask", "no_mask"]
    assert ann.boxes("IMG_1.JPG") == [Box(10, 20, 50, 60, "mask"), Box(100, 0, 200, 100, "None", 0.875)]
    assert ann.boxes("IMG_2.png") == [] and "IMG_2.png" in ann.images


def test_classes_without_none_map_by_index() -> None:
    files = {"classes.txt": b"with_mask\nwithout_mask\n", "IMG_2.txt": b"1 0.5 0.5 0.5 0.5\n"}
    ann = loads_yolo(files, SIZES).annotations
    assert ann.categories == ["None", "with_mask", "without_mask"]
    assert ann.boxes("IMG_2.png") == [Box(12, 12, 38, 38, "without_mask")]


def test_rule_breaking_boxes_are_skipped() -> None:
    files = {
        "classes.txt": CLASSES,
        "IMG_2.txt": b"1 0.5 0.5 0.5 0.5\n1 0.5 0.5 0.4 0.4\n1 0.1 0.5 0.04 0.5\n",
    }
    result = loads_yolo(files, SIZES)
    assert len(result.annotations.boxes("IMG_2.png")) == 1
    assert [("overlaps" in s, "side" in s) for s in result.skipped] == [(True, False), (False, True)]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"1 0.5 0.5 0.5", "line 1"),
        (b"1 0.5 0.5 0.5 0.5 0.9 7", "line 1"),
        (b"3 0.5 0.5 0.5 0.5", "line 1"),
        (b"-1 0.5 0.5 0.5 0.5", "line 1"),
        (b"mask 0.5 0.5 0.5 0.5", "line 1"),
        (b"1.0 0.5 0.5 0.5 0.5", "line 1"),
        (b"1 nan 0.5 0.5 0.5", "line 1"),
        (b"1 0.5 inf 0.5 0.5", "line 1"),
        (b"1 0.5 0.5 x 0.5", "line 1"),
        (b"1 0.5 0.5 0.5 0.5 high", "line 1"),
        (b"1 0.5 0.5 -0.2 0.5", "line 1"),
        (b"1 0.5 0.5 0.5 0", "line 1"),
        (b"1 0.9 0.5 0.5 0.5", "line 1"),  # right edge at 1.15
        (b"1 0.1 0.5 0.5 0.5", "line 1"),  # left edge at -0.15
        (b"1 50 25 20 20", "line 1"),  # pixels, not normalised
        (b"\n\n1 0.5 0.5 0.5 0.5\n2 0.5", "line 4"),
    ],
)
def test_bad_lines_are_located(line: bytes, field: str) -> None:
    with pytest.raises(FormatError) as info:
        loads_yolo({"classes.txt": CLASSES, "IMG_2.txt": line}, SIZES)
    assert (info.value.file, info.value.image, info.value.field) == ("IMG_2.txt", "IMG_2.png", field)


@pytest.mark.parametrize(
    ("files", "file", "field"),
    [
        ({"IMG_2.txt": b""}, "(upload)", ""),
        ({"classes.txt": b"\n\n", "IMG_2.txt": b""}, "classes.txt", ""),
        ({"classes.txt": b"mask\nmask\n"}, "classes.txt", "line[1]"),
        ({"classes.txt": b"mask\n\nno_mask\n"}, "classes.txt", "line[1]"),
        ({"classes.txt": b"\xff\xfe\x00m"}, "classes.txt", ""),
        ({"classes.txt": CLASSES, "IMG_9.txt": b""}, "IMG_9.txt", ""),
        ({"classes.txt": CLASSES, "IMG_2.txt": b"\xff"}, "IMG_2.txt", ""),
    ],
)
def test_bad_files(files: dict[str, bytes], file: str, field: str) -> None:
    with pytest.raises(FormatError) as info:
        loads_yolo(files, SIZES)
    assert (info.value.file, info.value.field) == (file, field)


def test_a_label_file_named_like_a_list_is_still_a_label_file() -> None:
    files = {"classes.txt": b"a\n", "labels/train.txt": b"0 0.5 0.5 0.6 0.6\n", "train.txt": b"x/train.jpg\n"}
    ann = loads_yolo(files, {"train.jpg": (100, 100)}).annotations
    assert ann.boxes("train.jpg") == [Box(20, 20, 80, 80, "a")]


def test_an_ultralytics_segmentation_line_gives_its_polygons_box_and_is_counted() -> None:
    files = {"classes.txt": b"a\n", "IMG_2.txt": b"0 0.2 0.1 0.8 0.3 0.5 0.9 0.3 0.5\n"}
    result = loads_yolo(files, SIZES)  # IMG_2.png is 50 x 50
    assert result.annotations.boxes("IMG_2.png") == [Box(10, 5, 40, 45, "a")]
    assert result.dropped["segmentation"] == 1
    with pytest.raises(FormatError, match="no area"):
        loads_yolo({"classes.txt": b"a\n", "IMG_2.txt": b"0 0.2 0.1 0.2 0.3 0.2 0.9\n"}, SIZES)
