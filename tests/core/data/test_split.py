"""core.data.split: stratified group-aware split, the manifest it writes, versions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.data.dataset import UNLABELLED, Dataset
from core.data.fingerprints import scan_files
from core.data.manifest import SPLITS, find_manifest, read_manifest
from core.data.split import (
    assign_splits,
    check_fractions,
    dataset_versions,
    group_leaks,
    latest_manifest,
    manifest_changes,
    split_dataset,
)
from core.errors import DatasetError
from tests.core.data.test_dataset import put, smooth_image
from tests.core.data.test_health import near_copy
from tests.images import array_bytes

FR = {"train": 0.7, "val": 0.15, "test": 0.15}


@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.5, "val": 0.5},
        {"train": 0.7, "val": 0.2, "test": 0.2},
        {"train": 0.0, "val": 0.5, "test": 0.5},
        {"train": 1.2, "val": -0.1, "test": -0.1},
        {"train": float("nan"), "val": 0.5, "test": 0.5},
    ],
)
def test_bad_fractions_are_refused(fractions: dict[str, float]) -> None:
    with pytest.raises(DatasetError):
        check_fractions(fractions)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_stratified_per_class(seed: int) -> None:
    labels = ["a"] * 100 + ["b"] * 40 + ["c"] * 7
    out = assign_splits(labels, [], FR, seed)
    counts = Counter(zip(labels, out, strict=True))
    for c, n in Counter(labels).items():
        for s in SPLITS:
            assert abs(counts[(c, s)] - FR[s] * n) <= 1, (c, s, counts)


def test_groups_never_straddle_and_classes_stay_close() -> None:
    labels = ["a"] * 60 + ["b"] * 60
    # Near-duplicate groups of sizes 2..6, some of them across classes.
    groups = [list(range(k, k + size)) for k, size in ((0, 6), (10, 2), (20, 3), (55, 5), (70, 4), (100, 2))]
    for seed in range(20):
        out = assign_splits(labels, groups, FR, seed)
        for g in groups:
            assert len({out[i] for i in g}) == 1, (seed, g)
        counts = Counter(zip(labels, out, strict=True))
        for c in ("a", "b"):
            for s in SPLITS:
                assert abs(counts[(c, s)] - FR[s] * 60) <= 3


def test_seed_is_repeatable_and_matters() -> None:
    labels = ["a"] * 30 + ["b"] * 30
    assert assign_splits(labels, [], FR, 3) == assign_splits(labels, [], FR, 3)
    assert assign_splits(labels, [], FR, 3) != assign_splits(labels, [], FR, 4)


def test_zero_fraction_split_stays_empty() -> None:
    out = assign_splits(["a"] * 20, [[0, 1]], {"train": 0.8, "val": 0.2, "test": 0.0}, 0)
    assert "test" not in out and out.count("val") == 4


@pytest.fixture
def dataset(workspace: Path) -> Dataset:
    ds = Dataset.create("faces")
    for i in range(20):
        put(ds.root / f"mask/m{i}.png", smooth_image(i))
        put(ds.root / f"nomask/n{i}.png", smooth_image(100 + i))
    put(ds.root / "nomask/m3_near.jpg", near_copy(smooth_image(3)), "JPEG", quality=90)  # across classes
    put(ds.root / "mask/m5_near.png", near_copy(smooth_image(5)))
    (ds.root / "mask/broken.png").write_bytes(b"\x89PNG broken")
    put(ds.root / UNLABELLED / "u.png", smooth_image(500))
    return ds


def test_split_dataset_writes_a_manifest_with_groups_on_one_side(dataset: Dataset) -> None:
    result = split_dataset(dataset, seed=1)
    m = result.manifest
    assert result.path == dataset.root / ".splits" / f"{m.version}.json"
    assert read_manifest(result.path).version == m.version
    assert find_manifest(m.version)[1] == dataset.root
    assert m.classes == ["mask", "nomask"]  # the unlabelled bin is not a class
    assert len(m.files) == 42 and [f.path for f in result.skipped] == ["mask/broken.png"]
    by_path = {f.path: f for f in m.files}
    for a, b in (("mask/m3.png", "nomask/m3_near.jpg"), ("mask/m5.png", "mask/m5_near.png")):
        assert by_path[a].group == by_path[b].group >= 0
        assert by_path[a].split == by_path[b].split
    assert group_leaks(m) == []
    assert all(len(f.sha256) == 64 for f in m.files)
    counts = m.counts()
    assert counts["train"]["mask"] >= 14 and counts["test"]["nomask"] >= 2


def test_version_is_stable_and_tracks_changes(dataset: Dataset) -> None:
    v1 = split_dataset(dataset, seed=1).manifest.version
    assert split_dataset(dataset, seed=1).manifest.version == v1  # same files, same seed
    v2 = split_dataset(dataset, seed=2).manifest.version
    assert v2 != v1
    assert set(dataset_versions(dataset)) == {v1, v2}
    latest = latest_manifest(dataset)
    assert latest is not None and latest.version in {v1, v2}
    put(dataset.root / "mask/new.png", smooth_image(777))
    dataset.delete("nomask/n0.png")
    changes = manifest_changes(latest, scan_files(dataset.root, dataset.all_files()))
    assert changes == {"added": ["mask/new.png"], "removed": ["nomask/n0.png"], "changed": []}
    assert split_dataset(dataset, seed=1).manifest.version not in {v1, v2}


def test_split_refuses_an_empty_dataset(workspace: Path) -> None:
    ds = Dataset.create("empty")
    (ds.root / "a").mkdir()
    (ds.root / "a" / "x.png").write_bytes(array_bytes(smooth_image(1))[:50])
    with pytest.raises(DatasetError):
        split_dataset(ds)
    assert latest_manifest(ds) is None
