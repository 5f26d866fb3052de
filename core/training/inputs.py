"""The training input pipeline: cached split arrays (core.data.arrays) -> tf.data."""

from __future__ import annotations

from typing import Any

import numpy as np


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> Any:  # a tf.data.Dataset
    """A batched, prefetched tf.data pipeline of (float32 images or features, one-hot labels),
    plus per-example loss weights when `weights` is given."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y) if weights is None else (x, y, weights.astype(np.float32)))
    if shuffle:
        ds = ds.shuffle(max(1, len(y)), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(
        lambda a, b, *w: (tf.cast(a, tf.float32), tf.one_hot(b, num_classes), *w),  # w: the weights
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.prefetch(tf.data.AUTOTUNE)
