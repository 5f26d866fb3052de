"""A tiny synthetic dataset version in a workspace, for fast training tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.manifest import Manifest, ManifestFile, save_manifest

CLASSES = ("dot_left", "dot_right")


def make_dataset_version(
    root: Path, *, per_split: tuple[int, int, int] = (12, 4, 4), size: int = 32, seed: int = 0
) -> str:
    """Write PNGs of two easy classes (a bright square left or right on noise) under
    <root>/datasets/synth/<class>/ and save a manifest; returns its version id."""
    rng = np.random.default_rng(seed)
    folder = root / "datasets" / "synth"
    files = []
    for label_index, label in enumerate(CLASSES):
        (folder / label).mkdir(parents=True, exist_ok=True)
        n = 0
        for split, count in zip(("train", "val", "test"), per_split, strict=True):
            for _ in range(count):
                img = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
                y = int(rng.integers(2, size // 2))
                x = 2 if label_index == 0 else size // 2 + 2
                img[y : y + size // 3, x : x + size // 3 - 2] = 230
                path = folder / label / f"{label}_{n:03d}.png"
                Image.fromarray(img).save(path)
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                files.append(ManifestFile(f"{label}/{path.name}", label, sha, split))
                n += 1
    manifest = Manifest(dataset="synth", classes=list(CLASSES), files=files, seed=seed)
    save_manifest(manifest, root)
    return manifest.version
