"""Run the trainer's own augmentation layers on a few images, to show what training sees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.data.dataset import Dataset
from core.errors import ImageLoadError
from core.imaging import load_image


def sample_images(
    dataset: Dataset, n: int = 4, *, seed: int = 0, size: int = 160
) -> list[tuple[str, np.ndarray]]:
    """Up to `n` seeded random (path, image) of `dataset`, resized as the trainer resizes them
    (core.imaging.resize_square: the whole image to size x size). Unreadable files are skipped."""
    from core.imaging import resize_square

    if n <= 0:
        return []
    files = [rel for rel, _ in dataset.all_files()]
    order = np.random.default_rng(seed).permutation(len(files))
    out: list[tuple[str, np.ndarray]] = []
    for i in order:
        try:
            out.append((files[i], resize_square(load_image(dataset.root / files[i]), size)))
        except ImageLoadError:
            continue
        if len(out) >= n:
            break
    return out


def augment_samples(
    images: Sequence[np.ndarray],
    *,
    variants: int = 4,
    seed: int = 0,
    augmentation: Any = None,
    **options: Any,
) -> list[list[np.ndarray]]:
    """`variants` augmented copies of each HxWx3 uint8 image (all images the same size).

    `augmentation` is a callable layer stack; default models.augmentation.make_augmentation
    built with `options` (flip, rotation, zoom, translation, contrast) and `seed`.
    """
    if not images:
        return []
    if augmentation is None:
        from models.augmentation import make_augmentation

        augmentation = make_augmentation(seed=seed, **options)
    batch = np.stack([np.asarray(i, dtype=np.float32) for i in images])
    out: list[list[np.ndarray]] = [[] for _ in images]
    for _ in range(max(1, int(variants))):
        result = np.asarray(augmentation(batch, training=True))
        for k, img in enumerate(result):
            out[k].append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out
