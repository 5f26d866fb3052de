"""The annotator's format dispatcher: every export re-imports to the same boxes."""

from __future__ import annotations

import pytest

from core.annotation.annotations import Box
from core.annotation.formats import annotation_io
from core.annotation.formats.archive import zip_files
from core.annotation.projects import Project
from core.errors import FormatError
from tests.images import image_bytes


@pytest.fixture
def project(workspace) -> Project:
    p = Project.create("io")
    p.add_image("IMG_1.png", image_bytes((640, 480), (10, 20, 30)))
    p.add_image("IMG_2.png", image_bytes((300, 200), (10, 20, 30)))
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_box("IMG_1.png", Box(10, 20, 110, 140, "mask"))
        ann.add_box("IMG_1.png", Box(300, 200, 400, 330))
        ann.add_box("IMG_2.png", Box(0, 0, 50, 60, "mask"))
    return p


@pytest.mark.parametrize("fmt", list(annotation_io.ANNOTATION_FORMATS))
def test_export_then_import_gives_the_same_boxes(project: Project, fmt: str) -> None:
    ann = project.load()
    options = annotation_io.ExportOptions(include_none=True)
    data, file_name, _mime = annotation_io.export_annotations(project, ann, fmt, options)
    result = annotation_io.import_annotations(project, fmt, file_name, data)
    assert not result.skipped
    for name in ("IMG_1.png", "IMG_2.png"):
        assert [(b.xyxy, b.label) for b in result.annotations.boxes(name)] == [
            (b.xyxy, b.label) for b in ann.boxes(name)
        ]


def test_same_stem_in_two_splits_is_read_once_when_equal_and_refused_when_not(project: Project) -> None:
    line = b"1 0.5 0.5 0.2 0.2\n"
    same = zip_files({"classes.txt": b"None\nmask\n", "train/IMG_1.txt": line, "val/IMG_1.txt": line})
    result = annotation_io.import_annotations(project, "yolo", "labels.zip", same)
    assert [b.label for b in result.annotations.boxes("IMG_1.png")] == ["mask"]
    assert any("read once" in n for n in result.notes)
    differ = zip_files({"classes.txt": b"None\nmask\n", "a/IMG_1.txt": line, "b/IMG_1.txt": b""})
    with pytest.raises(FormatError) as info:
        annotation_io.import_annotations(project, "yolo", "labels.zip", differ)
    assert info.value.image == "IMG_1.png" and "differ" in info.value.detail


def test_a_failed_import_leaves_saved_annotations_untouched(project: Project) -> None:
    before = project.annotations_path.read_bytes()
    with pytest.raises(FormatError) as err:
        annotation_io.import_annotations(
            project,
            "seed",
            "bad.json",
            b'{"categories": ["None"], "images": {"IMG_1.png": {"rectangles": [[1, 2, 3]], "rect_to_category": [0]}}}',
        )
    assert err.value.image == "IMG_1.png" and "rectangles" in err.value.field
    assert project.annotations_path.read_bytes() == before


@pytest.mark.parametrize("fmt", annotation_io.CATEGORY_FORMATS)
def test_categories_round_trip(fmt: str) -> None:
    cats = ["None", "mask", "../x", "<b>x</b>", "=cmd"]
    data, _mime = annotation_io.export_categories(cats, fmt)
    assert annotation_io.import_categories(f"c.{fmt}", data) == cats


def test_a_seed_file_with_a_100_mb_src_is_refused_and_nothing_written(project: Project) -> None:
    before = project.annotations_path.read_bytes()
    head = b'{"categories": ["None"], "images": {"IMG_1.png": {"rectangles": [], "rect_to_category": [], "src": "'
    data = head + b"x" * 100 * 2**20 + b'"}}}'
    with pytest.raises(FormatError) as err:
        annotation_io.import_annotations(project, "seed", "huge.json", data)
    assert err.value.file == "huge.json" and "at most 64 MB" in err.value.detail
    assert project.annotations_path.read_bytes() == before
