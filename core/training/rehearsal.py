"""Rehearsal: the starter's faces from photos, kept as MobileNetV2 base features
(`models/starter/memory.npz`), trained alongside a warm-started run's own data so that its head
keeps what the starter learned about photos (experience replay, as in continual learning).

A user's dataset of tight face crops teaches a head nothing about the small, blurred faces of a
street photo; trained on it alone, a warm-started head forgets them. The memory holds the base
features of the starter's training faces cut from photos and of their degraded copies (no
images: 1280 numbers per face, float16). It is used only where it fits: same classes in the same
order, same base weights (digest) and image size, and the fast path (features, no augmentation).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data.arrays import SplitArrays
from core.fsutil import atomic_write_bytes
from core.runs.starter import MEMORY_FILE

__all__ = ["MEMORY_FILE", "SOURCE", "Memory", "load_memory", "misfit", "save_memory", "with_memory"]
#: The provenance source the memory's faces count as (core.training.train.source_balanced_weights).
SOURCE = "starter:photos"
FORMAT = 1


@dataclass(frozen=True)
class Memory:
    """Features (N, D) float32 with class indices (N,), the classes, and what they were computed with."""

    feats: np.ndarray
    y: np.ndarray
    labels: tuple[str, ...]
    base: str  # models.mobilenet_v2.base_digest of the base
    image_size: int

    def __len__(self) -> int:
        return int(len(self.y))

    def keys(self) -> list[str]:
        """Feature-bank style keys, one per face, unique to the memory."""
        return [f"memory-{i:06d}" for i in range(len(self))]


def save_memory(path: Path, memory: Memory) -> None:
    """Write `memory` to `path` (npz, float16 features; atomic)."""
    import io

    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        format=np.int64(FORMAT),
        feats=memory.feats.astype(np.float16),
        y=memory.y.astype(np.int16),
        labels=np.array(memory.labels),
        base=np.array(memory.base),
        image_size=np.int64(memory.image_size),
    )
    atomic_write_bytes(path, buf.getvalue())


def load_memory(path: Path) -> Memory | None:
    """The memory at `path`, or None when it is missing, damaged or of another format."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                return None
            feats = np.asarray(data["feats"], np.float32)
            y = np.asarray(data["y"], np.int64)
            labels = tuple(str(v) for v in data["labels"].tolist())
            base, size = str(data["base"]), int(data["image_size"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None
    if feats.ndim != 2 or len(feats) != len(y) or (len(y) and (y.min() < 0 or y.max() >= len(labels))):
        return None
    if not np.isfinite(feats).all():
        return None
    return Memory(feats, y, labels, base, size)


def misfit(
    memory: Memory | None, labels: list[str], base: str, image_size: int, fast_path: bool
) -> str | None:
    """Why the memory cannot be rehearsed with this run (plain words), or None when it can."""
    if memory is None:
        return "the starter has no memory of photo faces"
    if not fast_path:
        return "rehearsal needs the fast path (no augmentation)"
    if list(memory.labels) != list(labels):
        return f"the memory's classes {list(memory.labels)} are not this run's {list(labels)}"
    if memory.base != base or memory.image_size != int(image_size):
        return f"the memory was computed at {memory.image_size} px with another base; this run uses {image_size} px"
    return None


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
    """The memory of a finished MobileNetV2 run (the starter's, at build time): base features of
    its training faces cut from photos, and of the degraded copies its recipe trained on."""
    from core.data.arrays import load_arrays
    from core.data.degrade import degraded_copies, parse_kinds
    from core.data.manifest import find_manifest
    from core.data.provenance import load_sources
    from core.runs.models import run_labels, run_model_path
    from core.runs.recipes import is_photo_source
    from core.runs.store import load_run
    from core.vision.model_files import load_model_file
    from models import mobilenet_v2

    record = load_run(run_id, root)
    cfg = record.config
    manifest, folder = find_manifest(str(cfg["dataset_version"]), root)
    sources = load_sources(folder)
    model = load_model_file(run_model_path(record.path))
    size = int(cfg["image_size"])
    train = load_arrays(manifest, folder, size, root)["train"]
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
    extractor = mobilenet_v2.feature_model(model)
    feats = (
        np.concatenate(
            [extractor.predict(x[i : i + 64].astype(np.float32), verbose=0) for i in range(0, len(x), 64)]
        )
        if len(x)
        else np.zeros((0, 1280), np.float32)
    )
    return Memory(
        feats.astype(np.float32),
        np.asarray(y, np.int64),
        tuple(run_labels(record.path, record.metrics)),
        mobilenet_v2.base_digest(model),
        size,
    )
