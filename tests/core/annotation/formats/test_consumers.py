"""Every export read back by the tools people use: pycocotools and supervision."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.annotation.annotations import Annotations, Box
from core.annotation.formats import coco, voc, yolo

pytest.importorskip("pycocotools")
sv = pytest.importorskip("supervision")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

SOURCE = Path(__file__).parent / "fixtures" / "coco_rle_crowd.json"


def coco_api(data: dict) -> COCO:
    api = COCO()
    api.dataset = copy.deepcopy(data)
    api.createIndex()
    return api


def average_precision(gt: dict, export: dict) -> float:
    results = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in export["annotations"]
    ]
    gt_api = coco_api(gt)
    ev = COCOeval(gt_api, gt_api.loadRes(results), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


@pytest.mark.parametrize("rules", ["flag", "apply"])
def test_cocoeval_of_an_export_against_its_source_is_perfect_for_kept_boxes(rules: str) -> None:
    """Before, ids were renumbered and loadRes refused the export ("do not correspond")."""
    source = json.loads(SOURCE.read_text())
    result = coco.from_coco_dict(source, rules=rules)
    sizes = {i["file_name"]: (i["width"], i["height"]) for i in source["images"]}
    export = coco.to_coco_dict(result.annotations, sizes)
    kept = {(a["image_id"], tuple(a["bbox"])) for a in export["annotations"]}
    gt = copy.deepcopy(source)  # the source, less the boxes the rules dropped (crowd stays: ignored)
    gt["annotations"] = [
        a for a in gt["annotations"] if a["iscrowd"] or (a["image_id"], tuple(a["bbox"])) in kept
    ]
    assert len(gt["annotations"]) == len(source["annotations"]) - (2 if rules == "apply" else 0)
    assert average_precision(gt, export) == pytest.approx(1.0, abs=1e-9)


def sample() -> tuple[Annotations, dict[str, tuple[int, int]]]:
    ann = Annotations(["person", "car", "bus"])
    ann.add_box("a.jpg", Box(2, 2, 52, 32, "car"))
    ann.add_box("a.jpg", Box(54, 10, 62, 40, "person"))
    ann.add_box("b.png", Box(4, 4, 34, 34, "bus"))
    ann.add_box("b.png", Box(40, 30, 79, 59, "car", 0.75))
    return ann, {"a.jpg": (64, 48), "b.png": (80, 60)}


def write_images(folder: Path, sizes: dict[str, tuple[int, int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (w, h) in sizes.items():
        Image.new("RGB", (w, h), (40, 80, 120)).save(folder / name)


def write(files: dict[str, bytes], root: Path) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def loaded(ds) -> dict[str, list[tuple[tuple[float, ...], str]]]:
    out = {}
    for path, _image, det in ds:
        out[Path(path).name] = sorted(
            (tuple(float(v) for v in xyxy), ds.classes[int(c)])
            for xyxy, c in zip(det.xyxy, det.class_id, strict=True)
        )
    return out


def expected(ann: Annotations) -> dict[str, list[tuple[tuple[float, ...], str]]]:
    return {
        n: sorted((tuple(float(v) for v in b.xyxy), b.label) for b in a.boxes) for n, a in ann.images.items()
    }


def test_supervision_reads_the_coco_export(tmp_path: Path) -> None:
    ann, sizes = sample()
    write_images(tmp_path / "images", sizes)
    (tmp_path / "coco.json").write_bytes(coco.dumps_coco(ann, sizes))
    ds = sv.DetectionDataset.from_coco(str(tmp_path / "images"), str(tmp_path / "coco.json"))
    assert loaded(ds) == expected(ann)


def test_supervision_reads_the_voc_export(tmp_path: Path) -> None:
    ann, sizes = sample()
    write_images(tmp_path / "images", sizes)
    write(voc.dumps_voc(ann, sizes), tmp_path / "xml")
    ds = sv.DetectionDataset.from_pascal_voc(str(tmp_path / "images"), str(tmp_path / "xml"))
    assert loaded(ds) == expected(ann)


@pytest.mark.parametrize("val_fraction", [0.0, 0.5])
def test_supervision_reads_the_yolo_dataset_export(tmp_path: Path, val_fraction: float) -> None:
    ann, sizes = sample()
    write_images(tmp_path / "src", sizes)
    split = yolo.split_images(list(sizes), val_fraction, seed=0)
    files = yolo.dumps_yolo_dataset(
        ann, sizes, split=split, read_image=lambda n: (tmp_path / "src" / n).read_bytes()
    )
    write(files, tmp_path / "ds")
    got: dict[str, list[tuple[tuple[float, ...], str]]] = {}
    for part in sorted(set(split.values())):
        ds = sv.DetectionDataset.from_yolo(
            str(tmp_path / "ds" / "images" / part),
            str(tmp_path / "ds" / "labels" / part),
            str(tmp_path / "ds" / "data.yaml"),
        )
        assert ds.classes == ["person", "car", "bus"]
        got.update(loaded(ds))
    want = expected(ann)
    assert got.keys() == want.keys()
    for name in want:  # normalised to 6 decimals: within a thousandth of a pixel
        assert [label for _, label in got[name]] == [label for _, label in want[name]]
        np.testing.assert_allclose([x for x, _ in got[name]], [x for x, _ in want[name]], atol=1e-3)
