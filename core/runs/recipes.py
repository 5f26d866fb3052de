"""The recipe a run gets by default, chosen for its dataset: one source of truth for the Launch
page, the command line and the worker.

`plan_run` fills every recipe key a config leaves None (core.runs.config.RECIPE_KEYS):
- A pretrained family (models.registry: a spec with a `backbone`) warm-starts from the shipped
  starter (core.runs.pretrained), its base only when the starter is of another family.
- A dataset version holding crops cut from photos (VOC or project sources) gets the starter's
  scene recipe: source-balanced loss weights and one degraded copy of every training image.
- A pretrained run of enough classes fine-tunes its top blocks (its backbone's `fine_tune_defaults`;
  MobileNetV2's is FINE_TUNE, from three classes).
Each choice comes with a plain sentence that the page shows and the run records.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.data.manifest import find_manifest
from core.data.provenance import is_detector_framed, is_photo_source, load_sources
from core.errors import ConfigError, MaskStudioError
from core.runs.config import RECIPE_KEYS, RunConfig
from core.runs.pretrained import plan_warm_start
from core.runs.starter import starter_info
from models.registry import DEFAULT_MODEL, get_spec

#: The starter's scene recipe (core.training.starter_build.RECIPE), for photo-sourced datasets.
SCENE_RECIPE: dict[str, Any] = {
    "class_weight": "source_balanced",
    "degrade": "lowres+blur+jpeg",
    "degrade_copies": 1,
}
#: Datasets of crops only (no photo faces).
CROP_RECIPE: dict[str, Any] = {"class_weight": "none", "degrade": "", "degrade_copies": 0}
#: A warm-started run on crops only, with the starter's faces from photos rehearsed (core.training.rehearsal).
REHEARSAL_RECIPE: dict[str, Any] = {"class_weight": "source_balanced", "degrade": "", "degrade_copies": 0}
#: The default model with three classes or more: the measured fine-tuning recipe
#: (docs/training-defaults.md), read from its backbone (models.registry).
FINE_TUNE: dict[str, Any] = dict(getattr(get_spec(DEFAULT_MODEL).backbone, "fine_tune_defaults", {}))
NO_FINE_TUNE: dict[str, Any] = {"fine_tune_blocks": 0, "fine_tune_epochs": 0, "fine_tune_learning_rate": 1e-4}


@dataclass(frozen=True)
class DatasetFacts:
    """What the default recipe depends on: the classes and where the files came from."""

    version: str
    classes: tuple[str, ...]
    files: int
    photo_files: int  # faces cut from photos (VOC or project sources)
    detector_framed: int  # of those, cut from the face detector's box (as Predict crops)


@dataclass(frozen=True)
class RunPlan:
    """A config with every recipe key chosen, and what was chosen, in plain sentences."""

    config: RunConfig
    notes: tuple[str, ...]


def dataset_facts(version: str, root: Path | None = None) -> DatasetFacts:
    """The facts of a dataset version (read once per version and workspace: a version id is the
    hash of its manifest). ConfigError when the version does not exist."""
    try:
        return _facts(version, str(Path(root).resolve()) if root else "")
    except MaskStudioError as exc:
        raise ConfigError(f"dataset_version={version!r} cannot be read: {exc}") from exc


@functools.lru_cache(maxsize=64)
def _facts(version: str, root: str) -> DatasetFacts:
    manifest, folder = find_manifest(version, Path(root) if root else None)
    sources = load_sources(folder)
    photo = [f for f in manifest.files if is_photo_source((sources.get(f.sha256) or {}).get("source", ""))]
    return DatasetFacts(
        version=version,
        classes=tuple(manifest.classes),
        files=len(manifest.files),
        photo_files=len(photo),
        detector_framed=sum(is_detector_framed(f.path) for f in photo),
    )


def plan_run(cfg: RunConfig, root: Path | None = None, facts: DatasetFacts | None = None) -> RunPlan:
    """`cfg` resolved, with every recipe key it leaves None chosen for its dataset (see the module
    docstring). Keys the config sets are kept. ConfigError for a bad value or a missing version."""
    r = cfg.resolved()
    facts = facts or dataset_facts(r.dataset_version, root)
    chosen: dict[str, Any] = {}
    notes: list[str] = []
    backbone = get_spec(r.model).backbone
    warm_start = r.warm_start or ("starter" if backbone is not None and r.weights == "imagenet" else "none")
    chosen["warm_start"] = warm_start
    warm = None
    if backbone is not None and r.weights == "imagenet":
        warm = plan_warm_start(warm_start, list(facts.classes), r.neurons or 0, r.model)
    if facts.photo_files:
        framed = (
            f" ({facts.detector_framed} framed by the face detector, as Predict crops them)"
            if facts.detector_framed
            else " (none framed by the face detector: a VOC import with detector crops adds them)"
        )
        _choose(
            r,
            SCENE_RECIPE,
            chosen,
            notes,
            f"This dataset holds {facts.photo_files} faces cut from photos{framed}: the starter's scene "
            "recipe applies: source-balanced loss weights and one degraded copy of each training image.",
        )
    elif warm is not None and warm.memory and not r.augment and r.image_size == memory_image_size():
        _choose(
            r,
            REHEARSAL_RECIPE,
            chosen,
            notes,
            "This dataset has no faces cut from photos; the starter's faces from photos are rehearsed "
            "with it, with source-balanced loss weights so that they count as much as yours.",
        )
    else:
        _choose(
            r,
            CROP_RECIPE,
            chosen,
            notes,
            "This dataset has no faces cut from photos: the crop recipe applies.",
        )
    tune = backbone.fine_tune_defaults if backbone is not None else {}
    if (
        backbone is not None
        and len(facts.classes) >= backbone.fine_tune_min_classes
        and tune.get("fine_tune_blocks")
    ):
        _choose(
            r,
            {**NO_FINE_TUNE, **tune},
            chosen,
            notes,
            f"{len(facts.classes)} classes: after the head, the top {tune['fine_tune_blocks']} blocks are "
            f"fine-tuned for {tune['fine_tune_epochs']} epochs at {tune['fine_tune_learning_rate']:g}.",
        )
    else:
        _choose(r, NO_FINE_TUNE, chosen, notes, "")
    planned = replace(r, **chosen)
    planned.validate_recipe()
    if warm is not None:
        notes.append(warm.text)
    missing = [k for k in RECIPE_KEYS if getattr(planned, k) is None]
    if missing:  # a bug here, not the user's: every key has a default above
        raise ConfigError(f"no default for {', '.join(missing)}")
    return RunPlan(planned, tuple(n for n in notes if n))


def memory_image_size() -> int:
    """The image size the starter's memory was computed at (starter.json; 224 when unsaid)."""
    info = starter_info().get("memory") or {}
    size = info.get("image_size") if isinstance(info, dict) else None
    return size if isinstance(size, int) else 224


def _choose(
    r: RunConfig, values: dict[str, Any], chosen: dict[str, Any], notes: list[str], note: str
) -> None:
    """Take `values` for the keys `r` leaves None; keep `note` when any was taken."""
    taken = {k: v for k, v in values.items() if getattr(r, k) is None}
    chosen.update(taken)
    if taken and note:
        notes.append(note)
