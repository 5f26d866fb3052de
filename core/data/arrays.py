"""A dataset version's splits as decoded, resized uint8 arrays, cached on disk.

Each image is decoded (core.imaging: EXIF, modes, size limit) and resized to a square once per
(dataset version, image size); the arrays are cached under <workspace>/cache/images/ and
reused by every later run. The manifest's sha256 is checked while decoding.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.manifest import SPLITS, Manifest
from core.errors import ImageLoadError, TrainingError
from core.imaging import load_image, resize_square
from core.workspace import workspace_root

#: Bump when the decoding/resizing changes, so old caches are not reused.
CACHE_FORMAT = 3


@dataclass
class SplitArrays:
    """One split as arrays: images (N, S, S, 3) uint8, labels (N,) int, paths."""

    x: np.ndarray
    y: np.ndarray
    paths: list[str]
    keys: list[str] = field(default_factory=list)  # content keys (sha256) for the feature cache

    def __len__(self) -> int:
        return int(self.y.shape[0])


def cache_dir(kind: str, root: Path | None = None) -> Path:
    """<workspace>/cache/<kind> (images, features)."""
    return (root or workspace_root()) / "cache" / kind


def _decode(path: Path, sha256: str, size: int) -> np.ndarray:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrainingError(f"dataset file missing or unreadable: {path} ({exc})") from exc
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise TrainingError(f"{path} changed since the dataset version was made (sha256 differs)")
    try:
        return resize_square(load_image(data), size)
    except ImageLoadError as exc:
        raise TrainingError(f"{path}: {exc.reason}") from exc


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to a temporary file in the same folder, then rename (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # damaged cache: rebuild it


def load_arrays(
    manifest: Manifest, folder: Path, image_size: int, root: Path | None = None
) -> dict[str, SplitArrays]:
    """Every split of `manifest` as arrays at `image_size` px, from the cache or decoded now."""
    if image_size < 8 or image_size > 1024:
        raise TrainingError(f"image size must be between 8 and 1024 px, got {image_size}")
    path = cache_dir("images", root) / manifest.version / f"{image_size}_v{CACHE_FORMAT}.npz"
    index = {c: i for i, c in enumerate(manifest.classes)}
    files = {s: sorted(manifest.split_files(s), key=lambda f: f.path) for s in SPLITS}
    cached = load_npz(path) if path.is_file() else None
    if cached is None:
        cached = {}
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for split in SPLITS:
                images = list(
                    pool.map(lambda f: _decode(folder / f.path, f.sha256, image_size), files[split])
                )
                cached[f"x_{split}"] = (
                    np.stack(images) if images else np.zeros((0, image_size, image_size, 3), np.uint8)
                )
        save_npz(path, cached)
    return {
        s: SplitArrays(
            x=cached[f"x_{s}"],
            y=np.array([index[f.label] for f in files[s]], dtype=np.int64),
            paths=[f.path for f in files[s]],
            keys=[f.sha256 for f in files[s]],
        )
        for s in SPLITS
    }
