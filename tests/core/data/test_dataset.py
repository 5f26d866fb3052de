"""core.data.dataset: dataset folders, safe label folders, review moves/deletes, paging.

Also holds the tiny synthetic-image helpers the other dataset tests import.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import (
    UNLABELLED,
    Dataset,
    label_folder,
    list_datasets,
    paginate,
    unique_dataset_name,
)
from core.errors import DatasetError, WorkspaceError
from tests.images import array_bytes


# ----- helpers shared by the dataset tests ---------------------------------------------
def smooth_image(seed: int, size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """A smooth random RGB picture: distinct per seed, robust to re-encoding and resizing."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    return np.asarray(small.resize(size, Image.Resampling.BICUBIC))


def put(path: Path, array: np.ndarray, fmt: str = "PNG", **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(array_bytes(array, fmt, **kwargs))
    return path


# ----- tests ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "folder"),
    [
        ("with_mask", "with_mask"),
        ("no mask", "no_mask"),
        ("../../etc", "etc"),
        (".hidden", "hidden"),
        ("_private", "private"),
        ("splits", "splits"),
        (".splits", "splits"),
        ("", "unnamed"),
        ("<b>x</b>", "b_x_b"),
    ],
)
def test_label_folder_is_safe_and_never_reserved(label: str, folder: str) -> None:
    assert label_folder(label) == folder


def test_create_refuses_an_existing_name_and_suggests_another(workspace: Path) -> None:
    Dataset.create("faces")
    with pytest.raises(WorkspaceError, match="faces_2"):
        Dataset.create("faces")
    with pytest.raises(WorkspaceError):
        Dataset.create("../faces")  # same safe name
    assert unique_dataset_name("faces") == "faces_2"
    Dataset.create("faces_2")
    assert unique_dataset_name("faces") == "faces_3"
    assert list_datasets() == ["faces", "faces_2"]


def test_create_and_open_stay_inside_the_workspace(workspace: Path) -> None:
    ds = Dataset.create("../../outside")
    assert ds.root.parent == workspace / "datasets"
    with pytest.raises(WorkspaceError):
        Dataset.open("../../")
    with pytest.raises(WorkspaceError):
        Dataset.open("missing")
    with pytest.raises(WorkspaceError):
        Dataset.create("...")
    with pytest.raises(WorkspaceError):
        ds.path("../../x.png")


@pytest.mark.parametrize(
    "name", ["faces/with_mask", "faces/with_mask/deeper", "faces/..", ".", "", "faces/notes.txt"]
)
def test_open_refuses_a_class_folder_or_any_nested_path(workspace: Path, name: str) -> None:
    ds = Dataset.create("faces")
    (ds.root / "with_mask" / "deeper").mkdir(parents=True)
    (ds.root / "notes.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="no dataset named"):
        Dataset.open(name)
    assert Dataset.open("faces").root == ds.root
    assert list_datasets() == ["faces"]


def test_classes_skip_hidden_reserved_and_unlabelled(workspace: Path) -> None:
    ds = Dataset.create("d")
    for rel in ("b/1.png", "a/1.png", "a/10.png", "a/2.png", f"{UNLABELLED}/u.png", ".splits/x.png"):
        put(ds.root / rel, smooth_image(1, (8, 8)))
    (ds.root / "a" / "notes.txt").write_text("not an image")
    assert ds.classes() == ["a", "b"]
    assert ds.files("a") == ["a/1.png", "a/2.png", "a/10.png"]
    assert ds.unlabelled() == [f"{UNLABELLED}/u.png"]
    assert ds.counts() == {"a": 3, "b": 1}
    assert ds.all_files()[-1] == ("b/1.png", "b")


def test_move_delete_and_empty_class_folders(workspace: Path) -> None:
    ds = Dataset.create("d")
    put(ds.root / "a/x.png", smooth_image(1, (8, 8)))
    put(ds.root / "b/x.png", smooth_image(2, (8, 8)))
    put(ds.root / UNLABELLED / "u.png", smooth_image(3, (8, 8)))
    moved = ds.move("a/x.png", "b")
    assert moved == "b/x-2.png"  # never overwrites the file already there
    assert not (ds.root / "a").exists()  # an empty class folder would be an empty Keras class
    assert ds.move(f"{UNLABELLED}/u.png", "no mask") == "no_mask/u.png"
    assert (ds.root / UNLABELLED).is_dir()  # the bin stays
    assert ds.move("no_mask/u.png", "no mask") == "no_mask/u.png"
    ds.delete("b/x.png")
    assert ds.counts() == {"b": 1, "no_mask": 1}
    with pytest.raises(DatasetError):
        ds.delete("b/x.png")
    with pytest.raises(DatasetError):
        ds.move("b", "a")
    with pytest.raises(WorkspaceError):
        ds.delete("../../../etc/passwd")


@pytest.mark.parametrize(
    ("n", "page", "per", "shown", "pages", "first"),
    [
        (0, 0, 10, 0, 1, None),
        (25, 0, 10, 0, 3, 0),
        (25, 2, 10, 2, 3, 20),
        (25, 9, 10, 2, 3, 20),
        (25, -1, 10, 0, 3, 0),
    ],
)
def test_paginate(n: int, page: int, per: int, shown: int, pages: int, first: int | None) -> None:
    items, got_page, got_pages = paginate(list(range(n)), page, per)
    assert (got_page, got_pages) == (shown, pages)
    assert (items[0] if items else None) == first
    assert len(items) <= per
