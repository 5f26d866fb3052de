"""Every annotation format gives back what it was given: labels, "None" boxes, scores, big images."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from core.annotation.annotations import Annotations, Box, ImageAnnotations
from core.annotation.formats import coco, seed_json, voc, yolo, yolo_import
from core.annotation.formats.archive import read_zip, zip_files
from core.annotation.formats.common import ImportResult
from core.errors import FormatError

Sizes = dict[str, tuple[int, int]]

SIZES: Sizes = {
    "IMG_1.JPG": (4000, 3000),
    "IMG_2.png": (64, 48),
    "IMG_10.jpg": (640, 480),
    "empty.jpg": (10, 10),
}


def sample() -> Annotations:
    """Categories with an unused one, "None" boxes, scores, and boxes at the far edges of 4000 x 3000."""
    ann = Annotations(["mask", "no_mask", "op_mask", "unused"])
    ann.add_box("IMG_1.JPG", Box(0, 0, 100, 120, "mask", 0.9123))
    ann.add_box("IMG_1.JPG", Box(1237, 981, 1999, 2003, "None"))
    ann.add_box("IMG_1.JPG", Box(3993, 2993, 4000, 3000, "op_mask", 0.5))
    ann.add_box("IMG_1.JPG", Box(2001, 17, 3999, 2500, "None", 0.25))
    ann.add_box("IMG_2.png", Box(1, 1, 63, 47, "no_mask"))
    ann.add_box("IMG_10.jpg", Box(320, 240, 327, 247, "mask"))
    ann.images["empty.jpg"] = ImageAnnotations()
    return ann


def _via_seed(ann: Annotations, tmp: Path) -> ImportResult:
    return seed_json.loads_seed_json(seed_json.dumps_seed_json(ann))


def _via_seed_file(ann: Annotations, tmp: Path) -> ImportResult:
    seed_json.save_seed_json(ann, tmp / "annotations.json")
    return seed_json.load_seed_json(tmp / "annotations.json")


def _via_coco(ann: Annotations, tmp: Path) -> ImportResult:
    return coco.loads_coco(coco.dumps_coco(ann, SIZES, include_none=True))


def _via_coco_file(ann: Annotations, tmp: Path) -> ImportResult:
    coco.save_coco(ann, SIZES, tmp / "coco.json", include_none=True)
    return coco.load_coco(tmp / "coco.json")


def _via_voc_zip(ann: Annotations, tmp: Path) -> ImportResult:
    return voc.loads_voc(read_zip(zip_files(voc.dumps_voc(ann, SIZES))), categories=ann.categories)


def _via_voc_dir(ann: Annotations, tmp: Path) -> ImportResult:
    voc.save_voc_dir(ann, SIZES, tmp)
    return voc.load_voc_dir(tmp, categories=ann.categories)


def _via_yolo_zip(ann: Annotations, tmp: Path) -> ImportResult:
    return yolo_import.loads_yolo(read_zip(zip_files(yolo.dumps_yolo(ann, SIZES, include_none=True))), SIZES)


def _via_yolo_dir(ann: Annotations, tmp: Path) -> ImportResult:
    yolo.save_yolo_dir(ann, SIZES, tmp, include_none=True)
    return yolo_import.load_yolo_dir(tmp, SIZES)


def _no_scores(ann: Annotations) -> dict[str, list[Box]]:
    return {k: [b.with_label(b.label) for b in v.boxes] for k, v in ann.images.items()}


@pytest.mark.parametrize(
    ("trip", "keeps_scores"),
    [
        (_via_seed, True),
        (_via_seed_file, True),
        (_via_coco, True),
        (_via_coco_file, True),
        (_via_voc_zip, False),
        (_via_voc_dir, False),
        (_via_yolo_zip, True),
        (_via_yolo_dir, True),
    ],
)
def test_round_trip(
    trip: Callable[[Annotations, Path], ImportResult], keeps_scores: bool, tmp_path: Path
) -> None:
    original = sample()
    result = trip(original, tmp_path)
    assert result.skipped == []
    assert result.annotations.categories == original.categories
    if keeps_scores:
        assert {k: v.boxes for k, v in result.annotations.images.items()} == {
            k: v.boxes for k, v in original.images.items()
        }
    else:
        assert _no_scores(result.annotations) == _no_scores(original)


def _random_boxes(count: int, seed: int) -> tuple[Annotations, Sizes]:
    rng = random.Random(seed)
    ann = Annotations(["mask"])
    sizes: Sizes = {}
    for i in range(count):
        w, h = rng.choice([(4000, 3000), (3000, 4000), (4000, 4000), (333, 777)])
        x1, y1 = rng.randrange(0, w - 6), rng.randrange(0, h - 6)
        x2, y2 = rng.randrange(x1 + 6, w + 1), rng.randrange(y1 + 6, h + 1)
        ann.add_box(f"img_{i}.jpg", Box(x1, y1, x2, y2, "mask"))
        sizes[f"img_{i}.jpg"] = (w, h)
    return ann, sizes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_yolo_six_decimals_are_exact_for_big_images(seed: int) -> None:
    ann, sizes = _random_boxes(300, seed)
    back = yolo_import.loads_yolo(yolo.dumps_yolo(ann, sizes), sizes).annotations
    assert {k: v.boxes for k, v in back.images.items()} == {k: v.boxes for k, v in ann.images.items()}


EXPORTS: list[Callable[[Annotations, Sizes], object]] = [coco.dumps_coco, voc.dumps_voc, yolo.dumps_yolo]


@pytest.mark.parametrize("dump", EXPORTS)
def test_export_needs_the_size_of_every_image_with_boxes(
    dump: Callable[[Annotations, Sizes], object],
) -> None:
    sizes = {k: v for k, v in SIZES.items() if k != "IMG_10.jpg"}
    with pytest.raises(FormatError) as info:
        dump(sample(), sizes)
    assert (info.value.image, info.value.field) == ("IMG_10.jpg", "size")


@pytest.mark.parametrize(
    ("dump", "trip"), zip(EXPORTS, [_via_coco, _via_voc_zip, _via_yolo_zip], strict=True)
)
def test_export_leaves_out_empty_images_of_unknown_size(
    dump: Callable[[Annotations, Sizes], object],
    trip: Callable[[Annotations, Path], ImportResult],
    tmp_path: Path,
) -> None:
    ann = sample()
    ann.images["gone.jpg"] = ImageAnnotations()
    assert "gone.jpg" not in trip(ann, tmp_path).annotations.images
