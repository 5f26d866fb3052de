"""Stratified, group-aware train/val/test split written as a core.data.manifest.Manifest.

Whole near-duplicate groups (exact copies included) go to one split, so no picture is in
train and test at once. Groups are placed largest first, then the rest in a seeded random
order; each goes to the split that most needs its classes, which keeps every class close to
the requested fractions. The dataset version id is the manifest's hash (Manifest.version).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.dataset import Dataset
from core.data.fingerprints import FileInfo, Progress, near_groups, scan_files
from core.data.manifest import (
    SPLITS,
    Manifest,
    ManifestFile,
    list_versions,
    manifest_path,
    read_manifest,
    save_manifest,
)
from core.data.provenance import load_sources, merge_groups, photo_groups
from core.errors import DatasetError
from core.fsutil import natural_key, natural_sorted

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def check_fractions(fractions: dict[str, float]) -> dict[str, float]:
    """The fractions as floats; DatasetError unless train/val/test are >= 0, train > 0, sum 1."""
    if set(fractions) != set(SPLITS):
        raise DatasetError(f"fractions need exactly {', '.join(SPLITS)}, got {sorted(fractions)}")
    out = {s: float(fractions[s]) for s in SPLITS}
    if any(not math.isfinite(v) or v < 0 for v in out.values()) or out["train"] <= 0:
        raise DatasetError(f"fractions must be >= 0 with train > 0, got {out}")
    if abs(sum(out.values()) - 1.0) > 1e-6:
        raise DatasetError(f"fractions must add up to 1, got {sum(out.values()):.3f}")
    return out


def assign_splits(
    labels: Sequence[str],
    groups: Sequence[Sequence[int]],
    fractions: dict[str, float],
    seed: int,
) -> list[str]:
    """The split of each item. Items in one group share a split; others are their own group."""
    fractions = check_fractions(fractions)
    n = len(labels)
    grouped = {i for g in groups for i in g}
    units = [list(g) for g in groups] + [[i] for i in range(n) if i not in grouped]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(units))
    # Largest groups first (hardest to place), ties in the seeded random order.
    units = [units[k] for k in sorted(order, key=lambda k: -len(units[k]))]
    totals = Counter(labels)
    target = {s: {c: fractions[s] * totals[c] for c in totals} for s in SPLITS}
    have: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    out = [""] * n
    for unit in units:
        need = Counter(labels[i] for i in unit)
        best = max(
            SPLITS,
            key=lambda s: (
                sum(k * (target[s][c] - have[s][c]) for c, k in need.items())
                if fractions[s] > 0
                else -math.inf,
                fractions[s],
            ),
        )
        have[best].update(need)
        for i in unit:
            out[i] = best
    return out


@dataclass
class SplitResult:
    """The manifest, where it was saved, and what was left out."""

    manifest: Manifest
    path: Path
    skipped: list[FileInfo] = field(default_factory=list)  # unreadable files, not in the manifest


def build_manifest(
    dataset: Dataset,
    infos: Sequence[FileInfo],
    *,
    seed: int = 0,
    fractions: dict[str, float] | None = None,
) -> tuple[Manifest, list[FileInfo]]:
    """A manifest of the readable files in `infos` (unreadable ones returned as skipped)."""
    fractions = check_fractions(fractions or DEFAULT_FRACTIONS)
    ok = [f for f in infos if f.ok]
    if not ok:
        raise DatasetError(f"dataset {dataset.name!r} has no readable images to split")
    # near-duplicates and the crops of one source photo (core.data.provenance) stay on one side
    sources = load_sources(dataset.root)
    photos = photo_groups([f.sha256 for f in ok], sources)
    groups = merge_groups(len(ok), near_groups(ok), photos) if photos else near_groups(ok)
    # stratified by class and by source (a folder dataset, VOC scene crops, a project), so every
    # split holds each source's share of each class: thresholds and test figures then speak for
    # scene crops too, not only for the largest source
    strata = [f"{f.label}\x1f{(sources.get(f.sha256) or {}).get('source', '')}" for f in ok]
    splits = assign_splits(strata, groups, fractions, seed)
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    files = [
        ManifestFile(f.path, f.label, f.sha256, splits[i], group_of.get(i, -1)) for i, f in enumerate(ok)
    ]
    classes = natural_sorted(list({f.label for f in ok}))
    manifest = Manifest(
        dataset=dataset.name, classes=classes, files=files, seed=int(seed), fractions=fractions
    )
    return manifest, [f for f in infos if not f.ok]


def split_dataset(
    dataset: Dataset,
    *,
    seed: int = 0,
    fractions: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> SplitResult:
    """Scan, split and save the manifest of `dataset` under its version id."""
    infos = scan_files(dataset.root, dataset.all_files(), progress=progress)
    manifest, skipped = build_manifest(dataset, infos, seed=seed, fractions=fractions)
    path = save_manifest(manifest, dataset.workspace)
    return SplitResult(manifest, path, skipped)


# ----- versions ------------------------------------------------------------------------
def dataset_versions(dataset: Dataset) -> list[str]:
    """Version ids of a dataset's manifests, newest first."""
    return [v for d, v in list_versions(dataset.workspace) if d == dataset.name]


def latest_manifest(dataset: Dataset) -> Manifest | None:
    """The newest manifest of `dataset`, or None when it was never split."""
    versions = dataset_versions(dataset)
    if not versions:
        return None
    return read_manifest(manifest_path(dataset.name, versions[0], dataset.workspace))


def manifest_changes(manifest: Manifest, infos: Sequence[FileInfo]) -> dict[str, list[str]]:
    """How the files on disk differ from a manifest: added, removed, changed (paths, sorted)."""
    now = {f.path: f.sha256 for f in infos if f.ok}
    then = {f.path: f.sha256 for f in manifest.files}
    return {
        "added": sorted(set(now) - set(then), key=natural_key),
        "removed": sorted(set(then) - set(now), key=natural_key),
        "changed": sorted((p for p in now.keys() & then.keys() if now[p] != then[p]), key=natural_key),
    }


def group_leaks(manifest: Manifest) -> list[int]:
    """Near-duplicate group ids found in more than one split (always empty for our manifests)."""
    seen: dict[int, set[str]] = {}
    for f in manifest.files:
        if f.group >= 0:
            seen.setdefault(f.group, set()).add(f.split)
    return sorted(g for g, s in seen.items() if len(s) > 1)
