"""Rehearsal: the starter's faces from photos, kept as base features of its pretrained family
(`models/starter/memory.npz`), trained alongside a warm-started run's own data so that its head
keeps what the starter learned about photos (experience replay, as in continual learning).

A user's dataset of tight face crops teaches a head nothing about the small, blurred faces of a
street photo; trained on it alone, a warm-started head forgets them. The memory holds the base
features of the starter's training faces cut from photos and of their degraded copies (no
images: 1280 numbers per face for MobileNetV2, float16). It is used only where it fits: same classes in the same
order, same base weights (digest) and image size, and the fast path (features, no augmentation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.data.arrays import SplitArrays
from core.runs.memory import MEMORY_FILE, PHOTO_CHECK_FILE, Memory, load_memory, misfit, save_memory

__all__ = [
    "MEMORY_FILE",
    "PHOTO_CHECK_FILE",
    "SOURCE",
    "Memory",
    "build_memory",
    "load_memory",
    "misfit",
    "save_memory",
    "with_memory",
]
#: The provenance source the memory's faces count as (core.training.train.source_balanced_weights).
SOURCE = "starter:photos"


def with_memory(
    feats: np.ndarray, split: SplitArrays, memory: Memory, sources: dict[str, Any]
) -> tuple[np.ndarray, SplitArrays]:
    """The train split's features and labels with the memory's appended. The returned split keeps
    the original images in `x` (the memory has none: on the fast path only features are trained on)
    and gets one key per memory face; `sources` gains those keys as SOURCE, so source-balanced
    weights count the memory as a source of its own."""
    keys = memory.keys()
    for k in keys:
        sources[k] = {"source": SOURCE}
    merged = SplitArrays(
        split.x,
        np.concatenate([split.y, memory.y]).astype(split.y.dtype),
        [*split.paths, *([""] * len(memory))],
        [*split.keys, *keys],
    )
    return np.concatenate([feats, memory.feats.astype(feats.dtype)]), merged


def build_memory(run_id: str, root: Path | None = None) -> Memory:
    """The memory of a finished run of a pretrained family (the starter's, at build time): base
    features of its training faces cut from photos, and of the degraded copies its recipe trained on."""
    from core.data.arrays import load_arrays
    from core.data.degrade import degraded_copies, parse_kinds
    from core.data.manifest import find_manifest
    from core.data.provenance import is_photo_source, load_sources
    from core.runs.models import run_labels, run_model_path
    from core.runs.pretrained import backbone_of
    from core.runs.store import load_run
    from core.runs.thresholds import photo_faces
    from core.vision.model_files import load_model_file

    record = load_run(run_id, root)
    cfg = record.config
    backbone = backbone_of(str(cfg.get("model") or ""))
    manifest, folder = find_manifest(str(cfg["dataset_version"]), root)
    sources = load_sources(folder)
    model = load_model_file(run_model_path(record.path))
    size = int(cfg["image_size"])
    arrays = load_arrays(manifest, folder, size, root)
    train = arrays["train"]
    keep = [i for i, k in enumerate(train.keys) if is_photo_source((sources.get(k) or {}).get("source", ""))]
    x, y = train.x[keep], train.y[keep]
    keys = [train.keys[i] for i in keep]
    x, y, _ = degraded_copies(
        x,
        y,
        keys,
        parse_kinds(str(cfg.get("degrade") or "")),
        int(cfg.get("degrade_copies") or 0),
        int(cfg["seed"]),
    )
    extractor = backbone.feature_model(model)

    def features(images: np.ndarray) -> np.ndarray:
        if not len(images):
            return np.zeros((0, int(extractor.output_shape[-1])), np.float32)
        return np.concatenate(
            [
                extractor.predict(images[i : i + 64].astype(np.float32), verbose=0)
                for i in range(0, len(images), 64)
            ]
        ).astype(np.float32)

    test = arrays["test"]
    check, _ = photo_faces([str(p) for p in test.paths], list(test.keys), sources)
    return Memory(
        features(x),
        np.asarray(y, np.int64),
        tuple(run_labels(record.path, record.metrics)),
        backbone.base_digest(model),
        size,
        features(test.x[check]),
        np.asarray(test.y[check], np.int64),
    )
