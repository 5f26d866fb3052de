"""Imported coordinates and scores are finite and within image limits, floats as ints, in every
format (seed JSON, COCO as Mask Studio and Label Studio write it, Pascal VOC as labelImg and CVAT
write it, YOLO as Ultralytics and CVAT write it); otherwise a FormatError names the file.
(Floats above 1e9 used to be stored, and Annotate then crashed on them.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from core.annotation.formats.coco import dumps_coco, loads_coco
from core.annotation.formats.common import MAX_COORDINATE, check_number, check_score
from core.annotation.formats.seed_json import loads_seed_json
from core.annotation.formats.voc import loads_voc
from core.annotation.formats.yolo_import import loads_yolo
from core.errors import FormatError

HUGE_TEXTS = ["1e10", "1.5e9", "1e300", "1e309", "-1e300", "nan", "inf", "-inf", "1" + "0" * 400]


def seed(rect: str, score: str = "null") -> Callable[[], object]:
    text = (
        (
            '{"categories": ["None", "mask"], "images": {"a.jpg": {"rectangles": [RECT], '
            '"rect_to_category": [1], "rect_scores": [SCORE]}}}'
        )
        .replace("RECT", rect)
        .replace("SCORE", score)
    )
    return lambda: loads_seed_json(text, file="mine.json")


def coco(bbox: str, score: str = "0.5", *, label_studio: bool = False) -> Callable[[], object]:
    name = "images/4f2c9d1a-a.jpg" if label_studio else "a.jpg"
    text = (
        '{"images": [{"id": 1, "file_name": "NAME", "width": 640, "height": 480}], '
        '"categories": [{"id": 1, "name": "mask"}], '
        '"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [BBOX], "score": SCORE}]}'
    )
    text = text.replace("NAME", name).replace("BBOX", bbox).replace("SCORE", score)
    return lambda: loads_coco(text, file="result.json")


def voc(coords: tuple[str, str, str, str], size: tuple[str, str] = ("640", "480")) -> Callable[[], object]:
    box = "".join(f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), coords, strict=True))
    xml = (
        f"<annotation><filename>a.jpg</filename><size><width>{size[0]}</width>"
        f"<height>{size[1]}</height><depth>3</depth></size>"
        f"<object><name>mask</name><bndbox>{box}</bndbox></object></annotation>"
    )
    return lambda: loads_voc({"a.xml": xml.encode()}, categories=["None", "mask"])


def yolo(line: str, *, cvat: bool = False) -> Callable[[], object]:
    names = {"obj.names": b"mask\n"} if cvat else {"classes.txt": b"mask\n"}
    files = {**names, "a.txt": line.encode()}
    return lambda: loads_yolo(files, {"a.jpg": (640, 480)})


# (loader, the file the error must name)
CASES: list[tuple[str, Callable[[], object], str]] = []
for text in HUGE_TEXTS:
    if text not in ("nan", "inf", "-inf"):  # JSON has no such literals (seed JSON refuses them already)
        CASES += [
            (f"seed-rect-{text[:8]}", seed(f"[1, 2, {text}, 40]"), "mine.json"),
            (f"coco-x-{text[:8]}", coco(f"{text}, 2, 30, 40"), "result.json"),
            (f"coco-w-{text[:8]}", coco(f"1, 2, {text}, 40"), "result.json"),
            (
                f"labelstudio-h-{text[:8]}",
                coco(f"1, 2, 30, {text}", label_studio=True),
                "result.json",
            ),
        ]
    CASES += [
        (f"voc-xmax-{text[:8]}", voc(("1", "2", text, "40")), "a.xml"),
        (f"voc-width-{text[:8]}", voc(("1", "2", "30", "40"), size=(text, "480")), "a.xml"),
        (f"cvat-yolo-{text[:8]}", yolo(f"0 0.5 0.5 {text} 0.1", cvat=True), "a.txt"),
        (f"yolo-score-{text[:8]}", yolo(f"0 0.5 0.5 0.1 0.1 {text}"), "a.txt"),
    ]
CASES += [
    ("seed-score-above-1", seed("[1, 2, 30, 40]", "1.5"), "mine.json"),
    ("seed-score-negative", seed("[1, 2, 30, 40]", "-0.1"), "mine.json"),
    ("seed-score-1e300", seed("[1, 2, 30, 40]", "1e300"), "mine.json"),
    ("coco-score-1e300", coco("1, 2, 30, 40", "1e300"), "result.json"),
    ("coco-score-above-1", coco("1, 2, 30, 40", "2"), "result.json"),
    ("coco-x-plus-w-too-far", coco(f"{MAX_COORDINATE}, 2, {MAX_COORDINATE}, 40"), "result.json"),
    ("yolo-score-above-1", yolo("0 0.5 0.5 0.1 0.1 7"), "a.txt"),
]


@pytest.mark.parametrize(("load", "file"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_huge_or_non_finite_numbers_are_refused_naming_the_file(
    load: Callable[[], object], file: str
) -> None:
    with pytest.raises(FormatError) as info:
        load()
    assert info.value.file == file
    assert file in str(info.value)


@pytest.mark.parametrize(
    "load",
    [
        seed("[1.5, 2, 30.25, 40]", "0.93"),
        coco("1.5, 2, 30.25, 40", "1"),
        coco("1, 2, 30, 40", "0", label_studio=True),
        voc(("1.5", "2", "30.5", "40")),
        yolo("0 0.5 0.5 0.1 0.1 0.25", cvat=True),
    ],
    ids=["seed", "coco", "labelstudio", "voc", "yolo"],
)
def test_ordinary_floats_and_scores_are_kept(load: Callable[[], object]) -> None:
    result = load()
    boxes = [b for a in result.annotations.images.values() for b in a.boxes]
    assert len(boxes) == 1 and all(abs(v) < 1e4 for v in boxes[0].xyxy)


def test_a_coco_box_within_limits_but_far_outside_its_image_is_skipped_not_stored() -> None:
    result = coco(f"{MAX_COORDINATE / 2}, 2, 30, 40")()
    assert result.box_count == 0 and result.skipped
    out = json.loads(dumps_coco(result.annotations, {"a.jpg": (640, 480)}))
    assert out["annotations"] == []


@pytest.mark.parametrize("value", [1e9 + 1.0, 1e300, float("inf"), float("nan"), 10**400, -(10**12)])
def test_check_number_refuses_floats_and_ints_alike(value: float) -> None:
    with pytest.raises(FormatError, match="f.json"):
        check_number(value, file="f.json", image="a.jpg", fld="x")


@pytest.mark.parametrize("value", [0, 0.5, 1, 1.0])
def test_check_score_takes_0_to_1(value: float) -> None:
    assert check_score(value, file="f", image="i", fld="s") == float(value)
