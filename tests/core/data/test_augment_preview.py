"""core.data.augment_preview: seeded samples of a dataset resized as training sees them, and the
trainer's augmentation layers run on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.augment_preview import augment_samples, sample_images
from core.data.dataset import Dataset
from core.imaging import load_image, resize_square
from tests.core.data.test_dataset import put, smooth_image


def variants_equal(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> bool:
    return all(np.array_equal(x, y) for u, v in zip(a, b, strict=True) for x, y in zip(u, v, strict=True))


# ----- augment_samples ------------------------------------------------------------------------
def test_augment_samples_runs_the_given_layers() -> None:
    seen: list[tuple[tuple[int, ...], bool]] = []

    def flip(batch: np.ndarray, training: bool = False) -> np.ndarray:
        seen.append((batch.shape, training))
        return batch[:, :, ::-1] + 0.4

    imgs = [smooth_image(1, (16, 16)), smooth_image(2, (16, 16))]
    out = augment_samples(imgs, variants=3, augmentation=flip)
    assert len(out) == 2 and all(len(v) == 3 for v in out)
    assert seen == [((2, 16, 16, 3), True)] * 3
    assert out[0][0].dtype == np.uint8 and (out[0][0] == imgs[0][:, ::-1]).all()
    assert augment_samples([], augmentation=flip) == []


def test_augmented_values_are_rounded_and_clipped_to_uint8() -> None:
    def wild(batch: np.ndarray, training: bool = False) -> np.ndarray:
        return np.stack([batch[0] * 0 - 40.0, batch[1] * 0 + 300.0, batch[2] * 0 + 99.5])

    imgs = [np.full((4, 4, 3), v, np.uint8) for v in (10, 20, 30)]
    (low,), (high,), (half,) = augment_samples(imgs, variants=1, augmentation=wild)
    assert low.dtype == high.dtype == half.dtype == np.uint8
    assert (low == 0).all() and (high == 255).all() and (half == 100).all()


def test_default_layers_are_seeded() -> None:
    imgs = [smooth_image(i, (16, 16)) for i in range(2)]
    first = augment_samples(imgs, variants=3, seed=1)
    assert [[v.shape for v in row] for row in first] == [[(16, 16, 3)] * 3] * 2
    assert variants_equal(first, augment_samples(imgs, variants=3, seed=1))
    assert not variants_equal(first, augment_samples(imgs, variants=3, seed=2))


def test_options_reach_the_layers() -> None:
    imgs = [smooth_image(i, (16, 16)) for i in range(2)]
    flips_only = augment_samples(imgs, variants=6, seed=0, rotation=0, zoom=0, translation=0, contrast=0)
    for img, row in zip(imgs, flips_only, strict=True):
        assert all(np.array_equal(v, img) or np.array_equal(v, img[:, ::-1]) for v in row)
        assert any(not np.array_equal(v, img) for v in row), "some copies are flipped"


# ----- sample_images ---------------------------------------------------------------------------
def test_sample_images_are_seeded_resized_and_skip_unreadable(workspace: Path) -> None:
    ds = Dataset.create("s")
    for i in range(5):
        put(ds.root / "a" / f"{i}.png", smooth_image(i, (30, 20)))
    (ds.root / "a" / "5.png").write_bytes(b"broken")
    got = sample_images(ds, 10, seed=3, size=24)
    assert sorted(rel for rel, _ in got) == [f"a/{i}.png" for i in range(5)]
    assert all(img.shape == (24, 24, 3) and img.dtype == np.uint8 for _, img in got)
    assert [r for r, _ in sample_images(ds, 2, seed=3)] == [r for r, _ in got[:2]]


def test_samples_are_the_trainers_resize_and_span_classes(workspace: Path) -> None:
    ds = Dataset.create("t")
    for k, c in enumerate(("mask", "nomask")):
        for i in range(6):
            put(ds.root / c / f"{i}.png", smooth_image(100 * k + i, (40, 30)))
    got = sample_images(ds, 12, seed=0, size=16)
    assert {rel.split("/")[0] for rel, _ in got} == {"mask", "nomask"}
    rel, img = got[0]
    np.testing.assert_array_equal(img, resize_square(load_image(ds.root / rel), 16))
    orders = {tuple(r for r, _ in sample_images(ds, 12, seed=s, size=16)) for s in range(4)}
    assert len(orders) > 1, "the seed picks the order"


def test_an_empty_dataset_gives_no_samples(workspace: Path) -> None:
    assert sample_images(Dataset.create("empty"), 4) == []


def test_asking_for_no_samples_gives_none(workspace: Path) -> None:
    ds = Dataset.create("z")
    put(ds.root / "a" / "0.png", smooth_image(0, (20, 20)))
    assert sample_images(ds, 0) == []
