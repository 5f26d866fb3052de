"""The starter's memory of photo faces, as MobileNetV2 base features (no images): the file
format, shared by the starter build, training (core.training.rehearsal) and the threshold.

`memory.npz` in the starter folder holds two sets, each (features float16, class indices):
- the faces cut from photos that the starter trained on, and their degraded copies: rehearsed by
  warm-started runs;
- its *check set*: the faces cut from photos of the starter's test split (detector-framed where
  there are enough), never trained on: a warm-started run whose own test split has no photo faces
  chooses its threshold on them (core.runs.thresholds). A run keeps a copy of the check set it
  was given (`photo_check.npz` in its folder), so its record stays whole if the starter changes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.fsutil import atomic_write_bytes
from core.runs.starter import MEMORY_FILE

#: A run's copy of the check set it was given.
PHOTO_CHECK_FILE = "photo_check.npz"
FORMAT = 1
_EMPTY = np.zeros((0, 0), np.float32)

__all__ = ["MEMORY_FILE", "PHOTO_CHECK_FILE", "Memory", "load_memory", "misfit", "save_memory"]


@dataclass(frozen=True)
class Memory:
    """Features (N, D) float32 with class indices (N,), the classes, and what they were computed with."""

    feats: np.ndarray
    y: np.ndarray
    labels: tuple[str, ...]
    base: str  # models.registry.Backbone.base_digest of the base
    image_size: int
    check_feats: np.ndarray = field(default_factory=lambda: _EMPTY)  # held-out photo faces
    check_y: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(len(self.y))

    def keys(self) -> list[str]:
        """Feature-bank style keys, one per face, unique to the memory."""
        return [f"memory-{i:06d}" for i in range(len(self))]


def save_memory(path: Path, memory: Memory) -> None:
    """Write `memory` to `path` (npz, float16 features; atomic)."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        format=np.int64(FORMAT),
        feats=memory.feats.astype(np.float16),
        y=memory.y.astype(np.int16),
        labels=np.array(memory.labels),
        base=np.array(memory.base),
        image_size=np.int64(memory.image_size),
        check_feats=memory.check_feats.astype(np.float16),
        check_y=memory.check_y.astype(np.int16),
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
            check = np.asarray(data["check_feats"], np.float32)
            check_y = np.asarray(data["check_y"], np.int64)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None
    if feats.ndim != 2 or len(feats) != len(y) or (len(y) and (y.min() < 0 or y.max() >= len(labels))):
        return None
    if len(check) != len(check_y) or (len(check_y) and (check_y.min() < 0 or check_y.max() >= len(labels))):
        return None
    if not (np.isfinite(feats).all() and np.isfinite(check).all()):
        return None
    return Memory(feats, y, labels, base, size, check, check_y)


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
