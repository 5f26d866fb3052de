"""Files written by other tools, in their documented layouts (fixtures/), read to the pixel.

Every fixture describes the same two images where it can: IMG_1 (64 x 48) with a "mask" box
(10, 8, 30, 24) and a "no_mask" box (40, 10, 56, 30), IMG_2 (80 x 60) with "no_mask"
(4, 4, 34, 34) and "mask" (44, 20, 68, 50), in 0-based pixels with exclusive x2/y2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.annotation.annotations import Annotations, Box, ImageAnnotations
from core.annotation.formats import annotation_io, coco, seed_json, yolo, yolo_import
from core.annotation.formats.annotation_io import ImportOptions
from core.annotation.formats.archive import zip_files
from core.annotation.projects import Project
from core.errors import FormatError
from tests.images import image_bytes

FIXTURES = Path(__file__).parent / "fixtures"
IMG_1 = [((10, 8, 30, 24), "mask"), ((40, 10, 56, 30), "no_mask")]
IMG_2 = [((4, 4, 34, 34), "no_mask"), ((44, 20, 68, 50), "mask")]
BOTH = {"IMG_1.jpg": IMG_1, "IMG_2.jpg": IMG_2}


def folder_zip(folder: str, extra: dict[str, bytes] | None = None) -> bytes:
    root = FIXTURES / folder
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return zip_files({**files, **(extra or {})})


@pytest.fixture
def project(workspace: Path) -> Project:
    p = Project.create("interop")
    p.add_image("IMG_1.jpg", image_bytes((64, 48), (90, 120, 150), "JPEG"))
    p.add_image("IMG_2.jpg", image_bytes((80, 60), (90, 120, 150), "JPEG"))
    return p


def boxes(ann: Annotations) -> dict[str, list[tuple[tuple[int, int, int, int], str]]]:
    return {name: [(b.xyxy, b.label) for b in a.boxes] for name, a in ann.images.items() if a.boxes}


@pytest.mark.parametrize(
    ("folder", "fmt", "options", "expected", "dropped", "note"),
    [
        (
            "cvat_voc",
            "voc",
            {},
            BOTH,
            {"occluded": 1, "attributes": 1, "truncated": 1, "difficult": 1, "part": 1, "pose": 1},
            "1-based",
        ),
        ("labelimg_voc", "voc", {}, {"IMG_1.jpg": IMG_1}, {"truncated": 1, "difficult": 1}, "1-based"),
        ("roboflow_voc", "voc", {}, {"IMG_2.jpg": IMG_2}, {}, "1-based"),
        ("urpc_voc", "voc", {}, {"IMG_2.jpg": IMG_2}, {}, "1-based"),
        ("label_studio_voc", "voc", {}, {"IMG_1.jpg": IMG_1}, {}, "written by Label Studio"),
        ("zero_based_voc", "voc", {}, {"IMG_2.jpg": [((0, 4, 34, 34), "no_mask"), IMG_2[1]]}, {}, "is 0"),
        ("cvat_yolo", "yolo", {}, BOTH, {}, "obj.names"),
        ("darknet", "yolo", {}, BOTH, {}, "README.txt"),
        ("ultralytics", "yolo", {}, BOTH, {}, "data.yaml"),
        ("cvat_coco", "coco", {}, {"IMG_1.jpg": IMG_1}, {"attributes": 2, "segmentation": 1}, None),
        ("roboflow_coco", "coco", {}, BOTH, {}, None),
    ],
)
def test_other_tools_files_import_exactly(
    project: Project,
    folder: str,
    fmt: str,
    options: dict[str, Any],
    expected: dict[str, Any],
    dropped: dict[str, int],
    note: str | None,
) -> None:
    if fmt == "coco":
        path = next((FIXTURES / folder).rglob("*.json"))
        name, data = path.name, path.read_bytes()
    else:
        name, data = f"{folder}.zip", folder_zip(folder)
    result = annotation_io.import_annotations(project, fmt, name, data, ImportOptions(**options))
    assert boxes(result.annotations) == expected
    assert {k: v for k, v in result.dropped.items() if v} == dropped
    assert result.skipped == []
    if note:
        assert any(note in n for n in result.notes), result.notes
    assert sorted(result.annotations.categories) == ["None", "mask", "no_mask"]  # Roboflow: no dataset class


def test_voc_origin_can_be_forced(project: Project) -> None:
    data = folder_zip("label_studio_voc")
    one = annotation_io.import_annotations(project, "voc", "ls.zip", data, ImportOptions(voc_origin="1"))
    assert boxes(one.annotations)["IMG_1.jpg"][0][0] == (9, 7, 30, 24)  # 1 px up and left
    zero = annotation_io.import_annotations(project, "voc", "ls.zip", data, ImportOptions(voc_origin="0"))
    assert boxes(zero.annotations)["IMG_1.jpg"] == IMG_1


def test_roboflow_yolo_reads_sizes_and_names_from_the_images_in_the_zip(workspace: Path) -> None:
    empty = Project.create("empty")  # no images: sizes come from the zip
    rf1, rf2 = "IMG_1_jpg.rf.3f2a9c0d1e.jpg", "IMG_2_jpg.rf.77b0e1aa42.jpg"
    data = folder_zip(
        "roboflow_yolo",
        {
            f"train/images/{rf1}": image_bytes((64, 48), (90, 120, 150), "JPEG"),
            f"valid/images/{rf2}": image_bytes((80, 60), (90, 120, 150), "JPEG"),
        },
    )
    result = annotation_io.import_annotations(empty, "yolo", "rf.zip", data)
    assert boxes(result.annotations) == {rf1: IMG_1, rf2: IMG_2}
    assert result.annotations.categories == ["None", "mask", "no_mask"]
    assert any("README.dataset.txt" in n for n in result.notes)


def test_yolo_without_images_anywhere_says_to_add_them(workspace: Path) -> None:
    with pytest.raises(FormatError, match="add the images first"):
        annotation_io.import_annotations(Project.create("bare"), "yolo", "u.zip", folder_zip("ultralytics"))


@pytest.mark.parametrize(
    ("annotator", "img_1", "dropped"),
    [
        ("merge", [*IMG_1, ((41, 30, 53, 42), "no_mask")], 0),
        (1, IMG_1, 2),
        (2, [IMG_1[0], ((41, 30, 53, 42), "no_mask")], 2),
    ],
)
def test_label_studio_coco_strips_the_upload_prefix_and_merges_or_picks_annotators(
    project: Project, annotator: str | int, img_1: list[Any], dropped: int
) -> None:
    data = (FIXTURES / "label_studio_coco" / "result.json").read_bytes()
    assert annotation_io.coco_annotators("result.json", data, project.list_images()) == 2
    result = annotation_io.import_annotations(
        project, "coco", "result.json", data, ImportOptions(annotator=annotator)
    )
    assert boxes(result.annotations) == {"IMG_1.jpg": img_1, "IMG_2.jpg": IMG_2}
    assert result.annotators == 2
    assert result.dropped["duplicate_annotator"] == dropped
    assert any("Label Studio" in n for n in result.notes)


def test_label_studio_names_without_project_images_keep_the_prefix(workspace: Path) -> None:
    data = (FIXTURES / "label_studio_coco" / "result.json").read_bytes()
    result = annotation_io.import_annotations(Project.create("none"), "coco", "result.json", data)
    assert sorted(result.annotations.images) == ["4f2c9d1a-IMG_1.jpg", "9b1e22c0-IMG_2.jpg"]


COCO_SOURCE = FIXTURES / "coco_rle_crowd.json"


def test_coco_with_rle_crowd_counts_what_it_drops_and_applies_the_rules() -> None:
    result = coco.loads_coco(COCO_SOURCE.read_bytes())
    assert boxes(result.annotations) == {
        "000000255917.jpg": [((2, 2, 52, 32), "car"), ((54, 10, 62, 40), "person")],
        "000000397133.jpg": [((4, 4, 34, 34), "bus")],
    }
    assert dict(result.dropped) == {"rule_breakers": 2, "crowd": 1, "segmentation": 1, "attributes": 1}
    assert "2 boxes that break the box rules" in result.summary()


def test_keep_all_flags_rule_breakers_and_the_flags_survive_the_seed_file(tmp_path: Path) -> None:
    result = coco.loads_coco(COCO_SOURCE.read_bytes(), rules="flag")
    got = result.annotations.boxes("000000255917.jpg")
    assert [(b.xyxy, b.flag) for b in got] == [
        ((2, 2, 52, 32), None),
        ((54, 10, 62, 40), None),
        ((10, 10, 22, 18), "overlap"),
        ((56, 42, 59, 45), "min_side"),
    ]
    assert result.flagged_count == 2 and result.dropped["rule_breakers"] == 0
    seed_json.save_seed_json(result.annotations, tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text())["images"]["000000255917.jpg"]["rect_flags"] == [
        None,
        None,
        "overlap",
        "min_side",
    ]
    again = seed_json.load_seed_json(tmp_path / "a.json")  # a project load: rules "apply"
    assert [b.flag for b in again.annotations.boxes("000000255917.jpg")] == [
        None,
        None,
        "overlap",
        "min_side",
    ]


def test_coco_export_keeps_source_ids_and_supercategories_and_reimports_losslessly() -> None:
    source = json.loads(COCO_SOURCE.read_text())
    result = coco.from_coco_dict(source, rules="flag")
    sizes = {i["file_name"]: (i["width"], i["height"]) for i in source["images"]}
    out = coco.to_coco_dict(result.annotations, sizes)
    assert out["categories"] == [
        {"id": 1, "name": "person", "supercategory": "person"},
        {"id": 3, "name": "car", "supercategory": "vehicle"},
        {"id": 6, "name": "bus", "supercategory": "vehicle"},
    ]
    assert [(i["id"], i["file_name"]) for i in out["images"]] == [
        (255917, "000000255917.jpg"),
        (397133, "000000397133.jpg"),
    ]
    back = coco.from_coco_dict(out, rules="flag")
    assert boxes(back.annotations) == boxes(result.annotations)
    assert coco.to_coco_dict(back.annotations, sizes) == out


def test_new_images_and_categories_get_fresh_ids_after_the_source_ones() -> None:
    ann = coco.loads_coco(COCO_SOURCE.read_bytes()).annotations
    ann.add_category("bike")
    ann.add_box("new.jpg", Box(0, 0, 20, 20, "bike"))
    sizes = {"000000255917.jpg": (64, 48), "000000397133.jpg": (80, 60), "new.jpg": (30, 30)}
    out = coco.to_coco_dict(ann, sizes, include_none=True)
    assert [(c["name"], c["id"]) for c in out["categories"]] == [
        ("person", 1),
        ("car", 3),
        ("bus", 6),
        ("bike", 7),
        ("None", 8),
    ]
    assert [i["id"] for i in out["images"]] == [255917, 397133, 397134]


def test_yolo_dataset_export_is_ultralytics_ready_and_keeps_class_order() -> None:
    ann = Annotations(["person", "car", "bus"])
    ann.add_box("a.jpg", Box(0, 0, 10, 10, "bus"))
    ann.add_box("b.jpg", Box(0, 0, 10, 10, "None"))
    ann.images["c.jpg"] = ImageAnnotations()
    sizes = {"a.jpg": (20, 20), "b.jpg": (20, 20), "c.jpg": (20, 20)}
    split = yolo.split_images(list(sizes), 0.34, seed=1)
    assert sorted(split.values()) == ["train", "train", "val"]
    assert yolo.split_images(list(sizes), 0.34, seed=1) == split  # seeded
    files = yolo.dumps_yolo_dataset(ann, sizes, split=split, read_image=lambda n: n.encode())
    assert files[f"labels/{split['a.jpg']}/a.txt"] == b"2 0.250000 0.250000 0.500000 0.500000\n"
    assert files[f"labels/{split['b.jpg']}/b.txt"] == b""  # "None" left out
    assert files[f"images/{split['c.jpg']}/c.jpg"] == b"c.jpg"
    cfg = yolo_import.parse_data_yaml(files["data.yaml"])
    assert cfg["train"] == "images/train" and cfg["val"] == "images/val"
    assert yolo_import.names_from_yaml(files["data.yaml"]) == ["person", "car", "bus"]
    one = yolo.dumps_yolo_dataset(ann, sizes, include_none=True)
    assert yolo_import.parse_data_yaml(one["data.yaml"])["val"] == "images/train"
    assert yolo_import.names_from_yaml(one["data.yaml"]) == ["person", "car", "bus", "None"]
    assert one["labels/train/b.txt"] == b"3 0.250000 0.250000 0.500000 0.500000\n"


def test_yolo_export_then_import_is_lossless(project: Project) -> None:
    with project.edit() as ann:
        ann.merge_categories(["mask", "no_mask"])
        for name, want in BOTH.items():
            for xyxy, label in want:
                ann.add_box(name, Box(*xyxy, label))
    options = annotation_io.ExportOptions(val_fraction=0.5, seed=3)
    data, _name, _mime = annotation_io.export_annotations(project, project.load(), "yolo", options)
    result = annotation_io.import_annotations(project, "yolo", "y.zip", data)
    assert boxes(result.annotations) == BOTH
    assert result.annotations.categories == ["None", "mask", "no_mask"]


def test_coco_zip_with_images_reimports(project: Project) -> None:
    with project.edit() as ann:
        ann.merge_categories(["mask"])
        ann.add_box("IMG_1.jpg", Box(10, 8, 30, 24, "mask"))
    options = annotation_io.ExportOptions(with_images=True)
    data, name, mime = annotation_io.export_annotations(project, project.load(), "coco", options)
    assert name.endswith(".zip") and mime == "application/zip"
    result = annotation_io.import_annotations(project, "coco", name, data)
    assert boxes(result.annotations) == {"IMG_1.jpg": [IMG_1[0]]}


@pytest.mark.parametrize("replace", [True, False])
def test_a_coco_import_into_a_project_keeps_its_ids_for_the_export(workspace: Path, replace: bool) -> None:
    p = Project.create("cocoids")
    p.add_image("000000255917.jpg", image_bytes((64, 48), (90, 120, 150), "JPEG"))
    p.add_image("000000397133.jpg", image_bytes((80, 60), (90, 120, 150), "JPEG"))
    result = annotation_io.import_annotations(p, "coco", "c.json", COCO_SOURCE.read_bytes())
    p.import_annotations(result.annotations, replace=replace)
    data, _name, _mime = annotation_io.export_annotations(p, p.load(), "coco")
    out = json.loads(data)
    assert [(c["id"], c["name"]) for c in out["categories"]] == [(1, "person"), (3, "car"), (6, "bus")]
    assert [i["id"] for i in out["images"]] == [255917, 397133]
