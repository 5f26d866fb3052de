"""Data safety (issue 11): no lost edits, fast box checks, names that round-trip, no silent merges,
staged builds, clear import errors (linear health memory: tests/core/data/test_fingerprints.py).
Each test failed on the code before."""

from __future__ import annotations

import json
import multiprocessing
import struct
import threading
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core.annotation.annotations as annotations_mod
import core.data.build as build_mod
import core.data.folder_import as folder_import_mod
from core.annotation.annotations import Annotations, Box
from core.annotation.formats import annotation_io
from core.annotation.formats.seed_json import loads_seed_json
from core.annotation.projects import Project
from core.data.build import crop_project
from core.data.dataset import Dataset, label_folder
from core.data.folder_import import import_zip, zip_sources
from core.errors import DatasetError, FormatError, WorkspaceError
from core.imaging import image_size, load_image
from tests.core.annotation.formats.test_seed_json import SEED
from tests.images import array_bytes, image_bytes, raw_zip

README_SEED = SEED  # the README's seed example


def _jpeg(size: tuple[int, int] = (1000, 800), colour: tuple[int, int, int] = (90, 120, 150)) -> bytes:
    return image_bytes(size, colour, "JPEG")


@pytest.fixture
def project(workspace: Path) -> Project:
    return Project.create("safety")


# ----- 1. lost updates ------------------------------------------------------------------
def _edit_many(root: str, offset: int, count: int) -> None:
    project = Project(root)
    for i in range(count):
        k = offset + i
        with project.edit() as ann:
            ann.add_box(
                "shared.png", Box(20 * (k % 40), 20 * (k // 40), 20 * (k % 40) + 10, 20 * (k // 40) + 10)
            )


def test_two_processes_editing_one_project_keep_every_box(project: Project) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_edit_many, args=(str(project.root), p * 60, 60)) for p in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(project.load().boxes("shared.png")) == 120


def test_two_threads_on_different_images_keep_every_box(project: Project) -> None:
    def work(image: str) -> None:
        for k in range(60):
            with project.edit() as ann:
                ann.add_box(
                    image, Box(20 * (k % 10), 20 * (k // 10), 20 * (k % 10) + 10, 20 * (k // 10) + 10)
                )

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a.png", "b.png")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ann = project.load()
    assert len(ann.boxes("a.png")) == 60 and len(ann.boxes("b.png")) == 60


def test_nested_locked_edits_do_not_deadlock(project: Project) -> None:
    name = project.add_image("a.png", image_bytes())
    with project.edit() as ann:
        ann.add_box(name, Box(0, 0, 20, 20))
    project.delete_image(name)  # delete_image edits while the caller may hold the lock
    with project.edit():
        project.save(Annotations())  # re-entrant in one thread
    assert project.load().images == {}


# ----- 2. box and category checks grow n log n ------------------------------------------
def test_loading_boxes_checks_overlap_only_against_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = annotations_mod.overlap_ratio

    def counting(a: Box, b: Box) -> float:
        calls["n"] += 1
        return real(a, b)

    monkeypatch.setattr(annotations_mod, "overlap_ratio", counting)
    rects = [[x * 12.0, y * 12.0, x * 12.0 + 10, y * 12.0 + 10] for x in range(30) for y in range(20)]
    rects.append([0.0, 0.0, 10.0, 10.0])  # an exact copy of the first: refused
    doc = {
        "categories": ["None", "m"],
        "images": {"a.jpg": {"rectangles": rects, "rect_to_category": [1] * 601}},
    }
    result = loads_seed_json(json.dumps(doc))
    assert result.box_count == 600
    assert len(result.skipped) == 1 and "overlaps box 1" in result.skipped[0]
    assert calls["n"] < 50  # every box against every other: 180,000 checks


def test_bulk_add_matches_box_by_box_rules() -> None:
    rng = np.random.default_rng(3)
    boxes = []
    for _ in range(300):
        x, y = rng.integers(0, 400, 2)
        w, h = rng.integers(3, 60, 2)
        boxes.append(Box(int(x), int(y), int(x + w), int(y + h)))
    one_by_one = Annotations()
    kept_slow = []
    for b in boxes:
        try:
            kept_slow.append(one_by_one.add_box("i", b, image_size=(420, 420)))
        except annotations_mod.BoxRejected as exc:
            kept_slow.append(exc.message)
    fast = Annotations()
    added, refused = fast.try_add_boxes("i", boxes, image_size=(420, 420))
    assert fast.boxes("i") == one_by_one.boxes("i")
    assert [exc.message for _, exc in refused] == [m for m in kept_slow if isinstance(m, str)]


def test_category_index_follows_renames() -> None:
    ann = Annotations([f"c{i}" for i in range(5000)])
    assert "c4999" in ann.category_set()
    ann.rename_category("c10", "renamed")
    assert "c10" not in ann.category_set() and "renamed" in ann.category_set()
    with pytest.raises(annotations_mod.CategoryError):
        ann.add_box("a", Box(0, 0, 20, 20, "c10"))


# ----- 3. names that round-trip -----------------------------------------------------------
def test_readme_seed_example_then_its_image_attaches(project: Project) -> None:
    result = annotation_io.import_annotations(project, "seed", "seed.json", json.dumps(README_SEED).encode())
    project.import_annotations(result.annotations)
    stored = project.add_image("IMG_1342.JPG", _jpeg())
    assert stored == "IMG_1342.JPG"
    assert project.list_images() == ["IMG_1342.JPG"]
    assert len(project.load().boxes(stored)) == 1
    data, _, _ = annotation_io.export_annotations(project, project.load(), "coco")
    assert json.loads(data)["annotations"]
    report = crop_project(project, Dataset.create("crops"), size=32)
    assert report.written == ["op_mask/IMG_1342_1.png"]


def test_image_first_then_annotations_follow_the_file(project: Project) -> None:
    stored = project.add_image("IMG_1342.JPG", _jpeg())
    assert stored == "IMG_1342.jpg"
    result = annotation_io.import_annotations(project, "seed", "seed.json", json.dumps(README_SEED).encode())
    project.import_annotations(result.annotations)
    assert len(project.load().boxes("IMG_1342.jpg")) == 1


@pytest.mark.parametrize(
    ("key", "upload"),
    [
        ("my photo.jpg", "my photo.jpg"),
        (unicodedata.normalize("NFD", "café.jpg"), unicodedata.normalize("NFC", "café.jpg")),
        ("Маска.PNG", "маска.png"),
    ],
)
def test_names_with_spaces_and_non_ascii_attach(project: Project, key: str, upload: str) -> None:
    with project.edit() as ann:
        ann.add_category("mask")
        ann.add_box(key, Box(10, 10, 40, 40, "mask"))
    stored = project.add_image(upload, image_bytes())
    assert len(project.load().boxes(stored)) == 1


def test_saved_keys_that_differ_in_case_follow_the_file(project: Project) -> None:
    project.add_image("IMG_1.jpg", _jpeg((200, 100)))
    with project.edit() as ann:
        ann.add_box("img_1.JPG", Box(10, 10, 40, 40))
    assert len(project.load().boxes("IMG_1.jpg")) == 1


# ----- 4. over-long names -----------------------------------------------------------------
def test_long_image_name_refused_at_import_with_the_limit(project: Project) -> None:
    doc = {"categories": ["None"], "images": {"x" * 300 + ".jpg": {"rectangles": [], "rect_to_category": []}}}
    with pytest.raises(FormatError, match="limit is 200 bytes"):
        annotation_io.import_annotations(project, "seed", "long.json", json.dumps(doc).encode())


def test_long_name_in_a_saved_file_is_a_clear_error_not_oserror(project: Project) -> None:
    with pytest.raises(WorkspaceError):
        project.image_path("x" * 300 + ".jpg")


# ----- 5. uncaught exceptions on import ---------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        '{"categories": ["None", "a\\ud800"], "images": {}}',
        '{"categories": ["None"], "images": {"a\\ud800.jpg": {}}}',
        '{"categories": ["None"], "images": {"a.jpg": {"src": "\\udc00"}}}',
        '{"categories": ["None"], "images": {"a.jpg": {"rectangles": [[1, 2, 3, ' + "9" * 4000 + "]], "
        '"rect_to_category": [0]}}}',
    ],
)
def test_bad_unicode_and_huge_numbers_are_format_errors(project: Project, text: str) -> None:
    before = project.annotations_path.read_bytes()
    with pytest.raises(FormatError):
        annotation_io.import_annotations(project, "seed", "bad.json", text.encode("utf-8"))
    assert project.annotations_path.read_bytes() == before


def test_any_importer_exception_becomes_a_format_error(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise KeyError("deep inside")

    monkeypatch.setattr(annotation_io, "loads_coco", boom)
    with pytest.raises(FormatError, match="coco.json"):
        annotation_io.import_annotations(project, "coco", "coco.json", b"{}")


# ----- 6. classes never merge silently ----------------------------------------------------
def test_crop_build_refuses_categories_sharing_a_folder(project: Project) -> None:
    name = project.add_image("a.png", image_bytes((200, 100)))
    with project.edit() as ann:
        for i, cat in enumerate(["no mask", "no_mask", "no/mask"]):
            ann.add_category(cat)
            ann.add_box(name, Box(10 + 60 * i, 10, 50 + 60 * i, 50, cat))
    ds = Dataset.create("faces")
    with pytest.raises(DatasetError, match="'no mask', 'no_mask', 'no/mask' -> folder 'no_mask'"):
        crop_project(project, ds, size=16)
    assert ds.all_files() == []


def test_emoji_and_non_latin_labels_get_their_own_folders() -> None:
    assert label_folder("😷") != label_folder("🙂")
    assert label_folder("маска") == "маска" and label_folder("口罩") == "口罩"


def test_zip_with_folders_that_merge_is_refused(workspace: Path) -> None:
    data = raw_zip(
        {"with mask/a.png": image_bytes(colour=(1, 2, 3)), "with_mask/b.png": image_bytes(colour=(4, 5, 6))}
    )
    ds = Dataset.create("z")
    with pytest.raises(DatasetError, match="with_mask"):
        import_zip(data, ds)
    assert ds.all_files() == []


# ----- 7. builds are staged -----------------------------------------------------------------
def test_failed_build_leaves_nothing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    name = project.add_image("a.png", image_bytes((200, 100)))
    with project.edit() as ann:
        ann.add_category("mask")
        for i in range(3):
            ann.add_box(name, Box(10 + 60 * i, 10, 50 + 60 * i, 50, "mask"))
    real = build_mod.png_bytes
    calls = {"n": 0}

    def failing(array: np.ndarray) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(array)

    monkeypatch.setattr(build_mod, "png_bytes", failing)
    ds = Dataset.create("faces")
    with pytest.raises(OSError):
        crop_project(project, ds, size=16)
    assert [p for p in ds.root.rglob("*") if p.name != ".lock"] == []


def test_box_far_larger_than_its_image_is_skipped_not_fatal(project: Project) -> None:
    name = project.add_image("a.png", image_bytes((60, 40)))
    with project.edit() as ann:
        ann.add_category("mask")
        ann.add_box(name, Box(0, 0, 30, 30, "mask"))
        ann.add_box(name, Box(31, 0, 5000, 5000, "mask"))  # as a seed file without sizes stores it
    report = crop_project(project, Dataset.create("faces"), size=16)
    assert report.written == ["mask/a_1.png"]
    assert "a box 2" in report.skipped[0]


def test_import_clips_boxes_to_the_project_image(project: Project) -> None:
    project.add_image("IMG_1342.JPG", _jpeg((500, 400)))
    result = annotation_io.import_annotations(project, "seed", "seed.json", json.dumps(README_SEED).encode())
    (box,) = result.annotations.boxes("IMG_1342.jpg")
    assert box.xyxy == (421, 144, 500, 400)


# ----- minor ----------------------------------------------------------------------------------
def test_duplicate_json_keys_are_refused_naming_the_key() -> None:
    text = '{"categories": ["None"], "images": {"IMG_1.jpg": {}, "IMG_1.jpg": {}}}'
    with pytest.raises(FormatError, match="IMG_1.jpg"):
        loads_seed_json(text)


def test_zip_members_left_out_are_listed(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder_import_mod, "MAX_MEMBER_BYTES", 1000)
    big = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    data = raw_zip(
        {"mask/ok.png": image_bytes(), "mask/big.png": array_bytes(big), "../mask/evil.png": image_bytes()}
    )
    skipped: list[str] = []
    sources = zip_sources(data, skipped=skipped)
    assert [name for _, name, _ in sources] == ["ok.png"]
    assert any("big.png" in s and "limit" in s for s in skipped)
    assert any("evil.png" in s and ".." in s for s in skipped)
    report = import_zip(data, Dataset.create("z"))
    assert len(report.skipped) == 2


def test_png_with_exif_after_the_pixels_has_one_size(tmp_path: Path) -> None:
    data = image_bytes((40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90
    raw = exif.tobytes()
    raw = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    chunk = struct.pack(">I", len(raw)) + b"eXIf" + raw + struct.pack(">I", zlib.crc32(b"eXIf" + raw))
    end = data.rindex(b"IEND") - 4
    path = tmp_path / "late.png"
    path.write_bytes(data[:end] + chunk + data[end:])
    assert image_size(path) == load_image(path).size == (20, 40)
