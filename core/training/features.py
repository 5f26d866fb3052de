"""The pretrained fast path: pooled base features computed once per base, image and size, cached.
The family's models.registry.Backbone builds the feature model and names the cache file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.data.arrays import CACHE_FORMAT, SplitArrays, cache_dir, load_npz, save_npz
from core.data.manifest import SPLITS
from models.registry import DEFAULT_MODEL, Backbone, get_spec

FEATURE_BATCH = 64


class _Progress(keras.callbacks.Callback):
    def __init__(self, report: Callable[[str, int, int], None], split: str, batches: int) -> None:
        super().__init__()
        self.report, self.split, self.batches = report, split, batches

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.report(self.split, batch + 1, self.batches)


def _batches(x: np.ndarray) -> Any:  # a tf.data.Dataset of float32 batches, cast batch by batch
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x).batch(FEATURE_BATCH)
    return ds.map(lambda a: tf.cast(a, tf.float32)).prefetch(tf.data.AUTOTUNE)


def _backbone(family: str) -> Backbone:
    backbone = get_spec(family).backbone
    if backbone is None:
        raise ValueError(f"{family} has no pretrained base, so no base features")
    return backbone


def feature_cache_path(
    version: str, image_size: int, root: Path | None = None, *, base: str = "", family: str = DEFAULT_MODEL
) -> Path:
    """Where the base features of pretrained `family` at an image size are cached: one bank per
    base and size, keyed by image content (sha256, plus the degradation for degraded copies),
    shared by every dataset version, so two versions that share images compute their features
    once. `base` names the base's weights (Backbone.base_digest); "" is the ImageNet file's.
    (`version` is kept for callers; the bank does not depend on it.)"""
    tag = base or _backbone(family).tag
    return cache_dir("features", root) / f"{family}_{tag}_{image_size}_bank_v{BANK_FORMAT}.npz"


BANK_FORMAT = CACHE_FORMAT + 1


def _load_bank(path: Path) -> dict[str, np.ndarray]:
    data = load_npz(path) if path.is_file() else None
    if not data or "keys" not in data or "feats" not in data or len(data["keys"]) != len(data["feats"]):
        return {}
    return {str(k): row for k, row in zip(data["keys"], data["feats"], strict=True)}


def base_features(
    model: keras.Model | None,
    arrays: dict[str, SplitArrays],
    cache_path: Path | None,
    report: Callable[[str, int, int], None] | None = None,
    *,
    family: str = DEFAULT_MODEL,
) -> tuple[dict[str, np.ndarray], float, bool]:
    """Pooled base features per split: rows found in the bank at `cache_path` are reused, the
    others computed (and added to the bank when `cache_path` is given). Rows are keyed by
    `SplitArrays.keys`; arrays without keys are always computed. Returns (features, seconds,
    True when every row came from the bank).

    `report(split, batch, batches)` is called after each batch of the feature pass; `family` is
    the pretrained family of `model` (models.registry).
    """
    start = time.perf_counter()
    bank = _load_bank(cache_path) if cache_path is not None else {}
    feats: dict[str, np.ndarray] = {}
    missing: dict[str, list[int]] = {}
    for split in SPLITS:
        a = arrays[split]
        keys = a.keys if len(a.keys) == len(a) else []
        missing[split] = [i for i in range(len(a)) if not keys or keys[i] not in bank]
    if not any(missing.values()):
        for split in SPLITS:
            a = arrays[split]
            rows = [bank[k] for k in a.keys]
            feats[split] = (
                np.stack(rows).astype(np.float32) if rows else np.zeros((0, _width(bank, family)), np.float32)
            )
        return feats, time.perf_counter() - start, True
    extractor = _backbone(family).feature_model(model)
    width = int(extractor.output_shape[-1])
    added: dict[str, np.ndarray] = {}
    for split in SPLITS:
        a = arrays[split]
        out = np.zeros((len(a), width), np.float32)
        todo = missing[split]
        todo_set = set(todo)
        for i in range(len(a)):
            if i not in todo_set:
                out[i] = bank[a.keys[i]]
        if todo:
            x = a.x[todo] if len(todo) < len(a) else a.x
            batches = -(-len(x) // FEATURE_BATCH)
            callbacks = [_Progress(report, split, batches)] if report else []
            computed = extractor.predict(_batches(x), verbose=0, callbacks=callbacks).astype(np.float32)
            out[todo] = computed
            if len(a.keys) == len(a):
                added.update({a.keys[i]: computed[j] for j, i in enumerate(todo)})
        feats[split] = out
    if cache_path is not None and added:
        bank.update(added)
        keys = list(bank)
        save_npz(cache_path, {"keys": np.array(keys), "feats": np.stack([bank[k] for k in keys])})
    return feats, time.perf_counter() - start, False


def _width(bank: dict[str, np.ndarray], family: str) -> int:
    return int(next(iter(bank.values())).shape[0]) if bank else _backbone(family).feature_width
