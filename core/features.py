"""The MobileNetV2 fast path: pooled base features computed once per (version, size), cached."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from core.manifest import SPLITS
from core.tfdata import CACHE_FORMAT, SplitArrays, cache_dir, load_npz, save_npz
from models.mobilenet_v2 import WEIGHTS_FILE, feature_model

FEATURE_BATCH = 64


class _Progress(keras.callbacks.Callback):
    def __init__(self, report: Callable[[int], None]) -> None:
        super().__init__()
        self.report = report

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.report(batch + 1)


def _batches(x: np.ndarray):  # -> tf.data.Dataset of float32 batches, cast batch by batch
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x).batch(FEATURE_BATCH)
    return ds.map(lambda a: tf.cast(a, tf.float32)).prefetch(tf.data.AUTOTUNE)


def feature_cache_path(version: str, image_size: int, root: Path | None = None) -> Path:
    """Where the ImageNet-base features of a dataset version at a size are cached."""
    tag = Path(WEIGHTS_FILE).stem.replace("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_", "")
    return cache_dir("features", root) / version / f"mobilenet_v2_{tag}_{image_size}_v{CACHE_FORMAT}.npz"


def base_features(
    model: keras.Model | None,
    arrays: dict[str, SplitArrays],
    cache_path: Path | None,
    report: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, np.ndarray], float, bool]:
    """Pooled base features per split: from `cache_path` when present, else computed (and
    cached when `cache_path` is given). Returns (features, seconds, from_cache).

    `report(split, batch, batches)` is called after each batch of the feature pass.
    """
    start = time.perf_counter()
    if cache_path is not None and cache_path.is_file():
        cached = load_npz(cache_path)
        if cached is not None and all(len(cached[f"f_{s}"]) == len(arrays[s]) for s in SPLITS):
            return {s: cached[f"f_{s}"] for s in SPLITS}, time.perf_counter() - start, True
    extractor = feature_model(model)
    width = int(extractor.output_shape[-1])
    feats: dict[str, np.ndarray] = {}
    for split in SPLITS:
        x = arrays[split].x
        if len(x) == 0:
            feats[split] = np.zeros((0, width), np.float32)
            continue
        batches = -(-len(x) // FEATURE_BATCH)
        callbacks = [_Progress(lambda b, s=split, n=batches: report(s, b, n))] if report else []
        feats[split] = extractor.predict(_batches(x), verbose=0, callbacks=callbacks).astype(np.float32)
    if cache_path is not None:
        save_npz(cache_path, {f"f_{s}": feats[s] for s in SPLITS})
    return feats, time.perf_counter() - start, False
