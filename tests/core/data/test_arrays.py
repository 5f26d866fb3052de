"""core.data.arrays: a dataset version's splits decoded once into uint8 arrays, cached on disk,
with the manifest's sha256 checked and a damaged cache rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import core.data.arrays as arrays_mod
from core.data.arrays import (
    CACHE_FORMAT,
    SplitArrays,
    cache_dir,
    load_arrays,
    load_npz,
    save_npz,
)
from core.data.manifest import SPLITS, Manifest, ManifestFile, find_manifest
from core.errors import TrainingError
from core.imaging import load_image, resize_square
from tests.models.synth import CLASSES, make_dataset_version


@pytest.fixture
def version(tmp_path: Path) -> tuple[Manifest, Path, Path]:
    """(manifest, dataset folder, workspace root) of a 3/2/1-per-class synthetic version."""
    root = tmp_path / "ws"
    manifest, folder = find_manifest(make_dataset_version(root, per_split=(3, 2, 1), size=20), root)
    return manifest, folder, root


def cache_file(manifest: Manifest, root: Path, size: int) -> Path:
    return cache_dir("images", root) / manifest.version / f"{size}_v{CACHE_FORMAT}.npz"


def refuse_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> np.ndarray:
        raise AssertionError("decoded although the cache holds the arrays")

    monkeypatch.setattr(arrays_mod, "_decode", fail)


def test_every_split_as_resized_uint8_arrays(version: tuple[Manifest, Path, Path]) -> None:
    manifest, folder, root = version
    out = load_arrays(manifest, folder, 16, root)
    assert set(out) == set(SPLITS)
    for split, per_class in zip(SPLITS, (3, 2, 1), strict=True):
        a = out[split]
        files = sorted(manifest.split_files(split), key=lambda f: f.path)
        assert isinstance(a, SplitArrays) and len(a) == 2 * per_class
        assert a.x.shape == (2 * per_class, 16, 16, 3) and a.x.dtype == np.uint8
        assert a.paths == [f.path for f in files] == sorted(a.paths)
        assert a.keys == [f.sha256 for f in files]
        assert a.y.tolist() == [CLASSES.index(f.label) for f in files]
    first = out["train"]
    np.testing.assert_array_equal(first.x[0], resize_square(load_image(folder / first.paths[0]), 16))


def test_the_cache_is_written_once_and_reused(
    version: tuple[Manifest, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, folder, root = version
    first = load_arrays(manifest, folder, 16, root)
    assert cache_file(manifest, root, 16).is_file()
    assert not [p for p in cache_file(manifest, root, 16).parent.iterdir() if p.suffix == ".tmp"]
    refuse_decoding(monkeypatch)
    again = load_arrays(manifest, folder, 16, root)
    for split in SPLITS:
        np.testing.assert_array_equal(again[split].x, first[split].x)
        assert again[split].paths == first[split].paths
    with pytest.raises(AssertionError, match="decoded"):
        load_arrays(manifest, folder, 12, root)  # another size is another cache


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",  # an empty file
        lambda data: b"garbage " + data[:50],  # not an npz at all
        lambda data: data[:100],  # truncated, as after a crash or a full disk
    ],
    ids=["empty", "not-an-npz", "truncated"],
)
def test_a_damaged_cache_is_rebuilt(version: tuple[Manifest, Path, Path], damage: Any) -> None:
    manifest, folder, root = version
    first = load_arrays(manifest, folder, 16, root)
    path = cache_file(manifest, root, 16)
    path.write_bytes(damage(path.read_bytes()))
    again = load_arrays(manifest, folder, 16, root)
    np.testing.assert_array_equal(again["train"].x, first["train"].x)
    assert load_npz(path) is not None, "the rebuilt cache is whole again"


def test_a_file_changed_since_the_version_is_refused(version: tuple[Manifest, Path, Path]) -> None:
    manifest, folder, root = version
    victim = folder / manifest.split_files("val")[0].path
    victim.write_bytes(victim.read_bytes() + b"\x00")
    with pytest.raises(TrainingError, match="sha256"):
        load_arrays(manifest, folder, 16, root)
    assert not cache_file(manifest, root, 16).exists(), "nothing half-built is cached"


def test_a_missing_file_is_a_training_error(version: tuple[Manifest, Path, Path]) -> None:
    manifest, folder, root = version
    (folder / manifest.split_files("test")[0].path).unlink()
    with pytest.raises(TrainingError, match="missing or unreadable"):
        load_arrays(manifest, folder, 16, root)


def test_an_undecodable_file_is_a_training_error_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "x.png").write_bytes(b"not a picture")
    manifest = Manifest("ds", ["a"], [ManifestFile("a/x.png", "a", "", "train")])  # no sha: not checked
    with pytest.raises(TrainingError, match="x.png: not an image"):
        load_arrays(manifest, folder, 16, tmp_path)


@pytest.mark.parametrize("size", [0, 7, 1025, -16])
def test_image_sizes_out_of_range_are_refused(version: tuple[Manifest, Path, Path], size: int) -> None:
    manifest, folder, root = version
    with pytest.raises(TrainingError, match="between 8 and 1024"):
        load_arrays(manifest, folder, size, root)


def test_the_smallest_size_and_an_empty_split(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    manifest, folder = find_manifest(make_dataset_version(root, per_split=(2, 1, 0), size=20), root)
    out = load_arrays(manifest, folder, 8, root)
    assert out["train"].x.shape == (4, 8, 8, 3)
    assert out["test"].x.shape == (0, 8, 8, 3) and out["test"].x.dtype == np.uint8
    assert len(out["test"]) == 0 and out["test"].paths == []


def test_save_npz_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sub" / "a.npz"
    save_npz(path, {"v": np.arange(3)})
    assert load_npz(path)["v"].tolist() == [0, 1, 2]

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save_npz(path, {"v": np.arange(5)})
    assert load_npz(path)["v"].tolist() == [0, 1, 2], "the old file is untouched"
    assert [p.name for p in path.parent.iterdir()] == ["a.npz"], "no temporary file left"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage",
        b"PK\x03\x04 not a real zip",
    ],
)
def test_load_npz_of_a_damaged_file_is_none(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    assert load_npz(path) is None
    assert load_npz(tmp_path / "missing.npz") is None


def test_cache_dir_is_under_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir("features", tmp_path) == tmp_path / "cache" / "features"
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(tmp_path / "w"))
    assert cache_dir("images") == tmp_path / "w" / "cache" / "images"
