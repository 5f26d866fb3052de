"""Project folders: creation, images, atomic edits and imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.formats.coco import loads_coco
from core.annotation.formats.voc import loads_voc
from core.annotation.projects import Project, list_projects, neighbour
from core.errors import FormatError, ImageLoadError, WorkspaceError
from tests.images import image_bytes

VOC_FILE = "face_mask_detection_voc/annotations/maksssksksss105.xml"


@pytest.fixture
def project(workspace: Path) -> Project:
    return Project.create("Masks 2021")


def test_create_and_open(workspace: Path, project: Project) -> None:
    assert project.name == "Masks_2021"
    assert project.root.parent == (workspace / "projects").resolve()
    assert list_projects() == ["Masks_2021"]
    opened = Project.open("Masks_2021")
    assert opened.root == project.root
    assert opened.load().categories == ["None"]


def test_duplicate_name_refused(project: Project) -> None:
    with pytest.raises(WorkspaceError):
        Project.create("Masks 2021")
    with pytest.raises(WorkspaceError):
        Project.create("Masks_2021")


@pytest.mark.parametrize("name", ["", "***", "😷"])
def test_create_needs_a_usable_name(workspace: Path, name: str) -> None:
    with pytest.raises(WorkspaceError):
        Project.create(name)


@pytest.mark.parametrize("name", ["маска", "口罩", "日本"])
def test_create_accepts_names_in_non_latin_letters(workspace: Path, name: str) -> None:
    assert Project.create(name).name == name


@pytest.mark.parametrize(
    "name",
    ["ghost", "../x", "", ".", "Masks_2021/images", "Masks_2021/annotations.json"],
)
def test_open_refuses_missing_or_outside(project: Project, name: str) -> None:
    with pytest.raises(WorkspaceError):
        Project.open(name)


def test_add_image_stores_checked_images(project: Project) -> None:
    red, blue = image_bytes(), image_bytes(colour=(10, 10, 200))
    assert project.add_image("photo.png", red) == "photo.png"
    assert project.add_image("photo.png", red) == "photo.png"  # same bytes: stored once
    assert project.add_image("photo.png", blue) == "photo_1.png"  # another file, same name
    assert project.add_image("photo.png", blue) == "photo_1.png"
    assert project.add_image("../../evil name.PNG", red) == "evil_name.png"
    assert project.list_images() == ["evil_name.png", "photo.png", "photo_1.png"]
    assert project.image_size("photo.png") == (64, 48)


@pytest.mark.parametrize(
    ("filename", "data"),
    [("notes.png", b"hello, not an image"), ("empty.jpg", b""), ("photo.gif", None)],
)
def test_add_image_refuses_non_images(project: Project, filename: str, data: bytes | None) -> None:
    with pytest.raises(ImageLoadError):
        project.add_image(filename, image_bytes() if data is None else data)
    assert project.list_images() == []


def test_natural_order_and_neighbour(project: Project) -> None:
    for i, name in enumerate(["IMG_10.png", "IMG_2.png", "IMG_1.png"]):
        project.add_image(name, image_bytes(colour=(i, 0, 0)))
    names = project.list_images()
    assert names == ["IMG_1.png", "IMG_2.png", "IMG_10.png"]
    assert neighbour(names, "IMG_2.png", 1) == "IMG_10.png"
    assert neighbour(names, "IMG_2.png", -1) == "IMG_1.png"
    assert neighbour(names, "IMG_10.png", 1) == "IMG_10.png"
    assert neighbour(names, "IMG_1.png", -5) == "IMG_1.png"
    assert neighbour(names, "gone.png", 1) == "IMG_1.png"
    assert neighbour([], None, 1) is None


def _temp_files(project: Project) -> list[str]:
    return [p.name for p in project.root.iterdir() if p.name.endswith(".tmp")]


def test_edit_saves_atomically(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("mask")
        ann.add_box("IMG_1.png", Box(0, 0, 40, 40, "mask"))
    again = Project.open(project.name).load()
    assert again.categories == ["None", "mask"]
    assert again.boxes("IMG_1.png") == [Box(0, 0, 40, 40, "mask")]
    assert _temp_files(project) == []


def test_edit_saves_nothing_when_the_body_raises(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("mask")
    before = project.annotations_path.read_bytes()
    with pytest.raises(RuntimeError), project.edit() as ann:
        ann.add_category("no_mask")
        ann.add_box("IMG_1.png", Box(0, 0, 40, 40, "no_mask"))
        raise RuntimeError("user code failed")
    assert project.annotations_path.read_bytes() == before
    assert _temp_files(project) == []


def test_edit_that_changes_nothing_leaves_the_file_alone(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("mask")
    written = project.annotations_path.stat().st_ino
    with project.edit() as ann:
        ann.boxes("IMG_1.png")
    assert project.annotations_path.stat().st_ino == written


def test_load_is_a_fresh_copy_that_follows_the_file_and_the_images(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("mask")
        ann.add_box("my photo.png", Box(0, 0, 40, 40, "mask"))
    shown = project.load()
    shown.add_box("my photo.png", Box(50, 50, 90, 90, "mask"))
    assert project.load().boxes("my photo.png") == [Box(0, 0, 40, 40, "mask")]
    other = Annotations(["mask"])  # another writer, same file size or not
    other.add_box("my photo.png", Box(1, 1, 41, 41, "mask"))
    Project.open(project.name).save(other)
    assert project.load().boxes("my photo.png") == [Box(1, 1, 41, 41, "mask")]
    stored = project.add_image("my photo.png", image_bytes())  # a new file the key attaches to
    assert project.load().boxes(stored) == [Box(1, 1, 41, 41, "mask")]


def test_failed_import_leaves_saved_file_untouched(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box("IMG_1.png", Box(0, 0, 40, 40))
    before = project.annotations_path.read_bytes()
    bad = (
        b'{"images": [{"id": 1, "file_name": "../..", "width": 90, "height": 90}],'
        b' "categories": [{"id": 1, "name": "mask"}], "annotations": []}'
    )
    with pytest.raises(FormatError) as info, project.edit():
        project.import_annotations(loads_coco(bad).annotations)
    assert info.value.image == ".."
    assert project.annotations_path.read_bytes() == before


def test_import_real_voc_file(project: Project, shared_data: Path) -> None:
    path = shared_data / VOC_FILE
    result = loads_voc({path.name: path.read_bytes()}, categories=project.load().categories)
    project.import_annotations(result.annotations)
    saved = project.load()
    assert saved.categories == ["None", "with_mask"]
    boxes = saved.boxes("maksssksksss105.jpg")
    assert len(boxes) == 9 and result.skipped == []
    # <xmin>178</xmin><ymin>143</ymin><xmax>213</xmax><ymax>202</ymax>, 1-based inclusive
    assert boxes[0] == Box(177, 142, 213, 202, "with_mask")


def test_merge_import_keeps_other_images(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box("IMG_1.png", Box(0, 0, 40, 40))
    incoming = Annotations(["mask"])
    incoming.add_box("IMG_2.png", Box(0, 0, 40, 40, "mask"))
    project.import_annotations(incoming, replace=False)
    saved = project.load()
    assert saved.categories == ["None", "mask"]
    assert sorted(saved.images) == ["IMG_1.png", "IMG_2.png"]


def test_delete_image_removes_file_and_boxes(project: Project) -> None:
    name = project.add_image("a.png", image_bytes())
    with project.edit() as ann:
        ann.add_box(name, Box(0, 0, 40, 40))
    project.delete_image(name)
    assert project.list_images() == []
    assert name not in project.load().images
    with pytest.raises(WorkspaceError):
        project.image_path("../annotations.json")


def test_import_by_default_replaces_only_the_imported_images(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box("hand.png", Box(0, 0, 40, 40))  # a hand-drawn box on another image
        ann.add_box("IMG_2.png", Box(50, 50, 90, 90))
    incoming = Annotations(["mask"])
    incoming.add_box("IMG_2.png", Box(0, 0, 40, 40, "mask"))
    project.import_annotations(incoming)
    saved = project.load()
    assert saved.boxes("hand.png") == [Box(0, 0, 40, 40)]
    assert saved.boxes("IMG_2.png") == [Box(0, 0, 40, 40, "mask")]  # the imported image: replaced
    assert project.versions()[-1].summary == "import: 1 boxes on 1 images"
    project.undo()
    assert project.load().boxes("IMG_2.png") == [Box(50, 50, 90, 90)]


def test_replace_all_says_what_it_removes_then_removes_exactly_that(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box("a.png", Box(0, 0, 40, 40))
        ann.add_box("a.png", Box(50, 50, 90, 90))
        ann.add_box("b.png", Box(0, 0, 40, 40))
        ann.add_box("imported.png", Box(0, 0, 40, 40))
        ann.images["empty.png"] = type(ann.images["a.png"])()
    incoming = Annotations()
    incoming.add_box("imported.png", Box(10, 10, 50, 50))
    assert project.replace_all_loss(incoming) == (3, 2)
    before = sum(len(e.boxes) for e in project.load().images.values())
    project.import_annotations(incoming, replace=True, summary="import Seed JSON: 1 boxes on 1 images")
    after = project.load()
    assert set(after.images) == {"imported.png"}
    assert before - sum(len(e.boxes) for e in after.images.values()) == 3 + 1 - 1
    assert project.versions()[-1].summary == "import Seed JSON: 1 boxes on 1 images"
    project.undo()
    assert len(project.load().boxes("a.png")) == 2
