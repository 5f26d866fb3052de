"""core.data.health on a small dataset with planted duplicates, leaks and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import Dataset
from core.data.health import build_report, find_leaks, health_report, remove_exact_duplicates
from tests.core.data.test_dataset import put, smooth_image
from tests.images import array_bytes


def near_copy(array: np.ndarray) -> np.ndarray:
    """The same picture slightly resized and brightened: a near-duplicate, not an exact one."""
    h, w = array.shape[:2]
    img = Image.fromarray(array).resize((w - 6, h - 6), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(img, dtype=np.int16) + 6, 0, 255).astype(np.uint8)


@pytest.fixture
def planted(workspace: Path) -> Dataset:
    """mask: 12 JPEG + 6 PNG (PNG only here: a format leak), masked copies of two pictures.
    nomask: 12 JPEG, one exact copy within the class, one near copy of a mask picture, one
    exact copy of a mask picture (cross-class), a corrupt file and a tiny image."""
    ds = Dataset.create("planted")
    for i in range(12):
        put(ds.root / f"mask/m{i}.jpg", smooth_image(i), "JPEG", quality=95)
    for i in range(6):
        put(ds.root / f"mask/p{i}.png", smooth_image(100 + i))
    for i in range(12):
        put(ds.root / f"nomask/n{i}.jpg", smooth_image(200 + i), "JPEG", quality=95)
    (ds.root / "nomask/n0_copy.jpg").write_bytes((ds.root / "nomask/n0.jpg").read_bytes())
    (ds.root / "nomask/from_mask.jpg").write_bytes((ds.root / "mask/m1.jpg").read_bytes())
    put(ds.root / "nomask/m2_near.jpg", near_copy(smooth_image(2)), "JPEG", quality=90)
    (ds.root / "nomask/broken.jpg").write_bytes(array_bytes(smooth_image(9), "JPEG")[:200])
    put(ds.root / "nomask/tiny.jpg", smooth_image(300, (20, 12)), "JPEG")
    return ds


def test_report_finds_what_was_planted(planted: Dataset) -> None:
    report = health_report(planted)
    assert report.counts == {"mask": 18, "nomask": 17}
    exact = {tuple(g.paths): g.cross_class for g in report.exact_duplicates}
    assert exact == {
        ("mask/m1.jpg", "nomask/from_mask.jpg"): True,
        ("nomask/n0.jpg", "nomask/n0_copy.jpg"): False,
    }
    near = [g for g in report.near_duplicates if "nomask/m2_near.jpg" in g.paths]
    assert len(near) == 1 and near[0].cross_class and "mask/m2.jpg" in near[0].paths
    assert [f.path for f in report.unreadable] == ["nomask/broken.jpg"]
    assert [f.path for f in report.tiny] == ["nomask/tiny.jpg"]
    png = [leak for leak in report.leaks if leak.attribute == "format" and leak.value == "PNG"]
    assert len(png) == 1 and png[0].label == "mask" and png[0].share_out == 0 and png[0].count == 6
    text = " ".join(report.warnings())
    assert "only in class 'mask'" in text and "span several classes" in text and "cannot be read" in text
    rows = report.rows()
    assert len(rows) == 34 and {"label", "width", "height", "aspect", "format", "kb"} <= set(rows[0])


def test_no_leak_when_classes_look_alike(workspace: Path) -> None:
    ds = Dataset.create("fair")
    for c in ("a", "b"):
        for i in range(10):
            fmt = "PNG" if i % 2 else "JPEG"
            put(ds.root / f"{c}/{i}.{fmt.lower()}", smooth_image(hash((c, i)) % 10_000), fmt)
    report = health_report(ds)
    assert report.leaks == []
    assert report.shortcut_accuracy == pytest.approx(report.majority_accuracy)
    assert report.imbalance == 1.0


@pytest.mark.parametrize(
    ("labels", "values", "found"),
    [
        (["a"] * 10 + ["b"] * 10, ["big"] * 10 + ["small"] * 10, {("a", "big"), ("b", "small")}),  # size band
        (["a"] * 10 + ["b"] * 10, ["J"] * 20, set()),  # one format everywhere: no leak
        (["a"] * 10 + ["b"] * 10, ["P"] * 3 + ["J"] * 17, set()),  # too few files to call it
        (
            ["a"] * 10 + ["b"] * 10,
            ["J"] * 10 + ["P"] * 5 + ["J"] * 5,
            {("a", "J"), ("b", "P")},
        ),  # a: all JPEG
        (["a"] * 20 + ["b"] * 20, ["P"] * 18 + ["J"] * 2 + ["P"] * 6 + ["J"] * 14, {("a", "P"), ("b", "J")}),
        (["a"] * 10, ["P"] * 10, set()),  # one class: nothing to leak
    ],
)
def test_find_leaks(labels: list[str], values: list[str], found: set[tuple[str, str]]) -> None:
    assert {(leak.label, leak.value) for leak in find_leaks(labels, values, "x")} == found


def test_remove_exact_duplicates_keeps_one_per_class_and_leaves_conflicts(planted: Dataset) -> None:
    removed = remove_exact_duplicates(planted, health_report(planted))
    assert removed == ["nomask/n0_copy.jpg"]
    assert (planted.root / "nomask/n0.jpg").is_file()
    assert (planted.root / "nomask/from_mask.jpg").is_file()  # which label is right is the user's call
    after = health_report(planted)
    assert [tuple(g.paths) for g in after.exact_duplicates] == [("mask/m1.jpg", "nomask/from_mask.jpg")]


def test_build_report_on_nothing() -> None:
    report = build_report([])
    assert report.counts == {} and report.leaks == [] and report.imbalance == 1.0
