"""core.data.folder_import: class-folder datasets from a folder or a zip are copied, checked and
converted; path tricks and bad sources are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.data.dataset import Dataset
from core.data.fingerprints import CACHE_FILE
from core.data.folder_import import import_folder, import_sources, zip_sources
from core.errors import DatasetError
from tests.core.data.test_dataset import put, smooth_image
from tests.images import array_bytes, raw_zip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    put(src / "with mask" / "a.jpg", smooth_image(1), "JPEG")
    put(src / "with mask" / "b.jpg", smooth_image(2), "PNG")  # PNG content, .jpg name
    put(src / "without" / "c.webp", smooth_image(3), "WEBP", lossless=True)
    (src / "without" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (src / "without" / "notes.txt").write_text("hi")
    (src / "README.md").write_text("readme")
    return src


def test_import_folder_copies_checks_and_converts(workspace: Path, folder: Path) -> None:
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    ds = Dataset.create("imported")
    report = import_folder(folder, ds)
    assert sorted(report.written) == ["with_mask/a.jpg", "with_mask/b.png", "without/c.png"]
    assert report.converted == ["without/c.webp"]
    assert {s.split(":")[0] for s in report.skipped} == {
        "without/broken.jpg",
        "without/notes.txt",
        "README.md",
    }
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before  # original untouched
    assert (ds.root / CACHE_FILE).is_file()
    assert Image.open(ds.root / "without/c.png").format == "PNG"
    again = import_folder(folder, ds)
    assert not again.written and len(again.unchanged) == 3


def test_import_folder_refuses_bad_sources(workspace: Path, tmp_path: Path) -> None:
    ds = Dataset.create("d")
    with pytest.raises(DatasetError):
        import_folder(tmp_path / "missing", ds)
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(DatasetError):
        import_folder(tmp_path / "empty", ds)
    put(ds.root / "a/x.png", smooth_image(1, (8, 8)))
    with pytest.raises(DatasetError):
        import_folder(ds.root, ds)


def test_zip_import_ignores_path_tricks(workspace: Path) -> None:
    data = raw_zip(
        {
            "top/cat/one.png": array_bytes(smooth_image(1, (16, 16))),
            "../../evil/two.png": array_bytes(smooth_image(2, (16, 16))),
            "__MACOSX/cat/._one.png": b"junk",
            "loose.png": array_bytes(smooth_image(3, (16, 16))),
        }
    )
    ds = Dataset.create("z")
    report = import_sources(ds, zip_sources(data))
    assert report.written == ["cat/one.png"]  # "../" members and loose files are ignored
    assert all(p.resolve().is_relative_to(ds.root) for p in ds.root.rglob("*"))
    with pytest.raises(DatasetError):
        zip_sources(b"not a zip")
