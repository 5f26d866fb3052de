"""The per-dataset defaults: one plan for the Launch page, the command line and the worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.data.manifest import find_manifest
from core.data.provenance import is_detector_framed
from core.errors import ConfigError
from core.runs.config import RECIPE_KEYS, RunConfig
from core.runs.recipes import (
    CROP_RECIPE,
    FINE_TUNE,
    REHEARSAL_RECIPE,
    SCENE_RECIPE,
    DatasetFacts,
    dataset_facts,
    plan_run,
)
from tests.models.synth import CLASSES, make_dataset_version

CROPS = DatasetFacts("v", CLASSES, 40, 0, 0)
PHOTOS = DatasetFacts("v", CLASSES, 40, 12, 5)
FIVE = DatasetFacts("v", ("a", "b", "c", "d", "e"), 40, 0, 0)


def cfg(**kw) -> RunConfig:
    return RunConfig(**{"model": "mobilenet_v2", "dataset_version": "v", **kw})


def picked(plan, keys) -> dict:
    return {k: getattr(plan.config, k) for k in keys}


@pytest.mark.parametrize(
    ("config", "facts", "expected", "note"),
    [
        (cfg(), CROPS, CROP_RECIPE, "no faces cut from photos"),
        (cfg(), PHOTOS, SCENE_RECIPE, "12 faces cut from photos (5 framed by the face detector"),
        (cfg(model="lenet"), PHOTOS, SCENE_RECIPE, "scene recipe"),
        (cfg(class_weight="balanced"), PHOTOS, {"class_weight": "balanced", "degrade_copies": 1}, "scene"),
        (cfg(), FIVE, FINE_TUNE, "top 6 blocks are fine-tuned for 8 epochs"),
        (cfg(model="lenet"), FIVE, {"fine_tune_blocks": 0, "fine_tune_epochs": 0}, "crop recipe"),
        (cfg(fine_tune_blocks=2), FIVE, {"fine_tune_blocks": 2, "fine_tune_epochs": 8}, "fine-tuned"),
    ],
)
def test_plan_fills_only_what_the_config_leaves_open(config, facts, expected, note, workspace) -> None:
    plan = plan_run(config, facts=facts)
    assert plan.config.planned and all(getattr(plan.config, k) is not None for k in RECIPE_KEYS)
    assert picked(plan, expected) == expected
    assert note in " ".join(plan.notes)


def test_warm_start_defaults_to_the_starter_for_mobilenet_only(workspace) -> None:
    # the workspace fixture points the starter at an empty folder: the Keras cache gives the base
    plan = plan_run(cfg(), facts=CROPS)
    assert plan.config.warm_start == "starter" and "starter model is not available" in " ".join(plan.notes)
    assert plan_run(cfg(model="lenet"), facts=CROPS).config.warm_start == "none"
    with pytest.raises(ConfigError, match="warm_start"):
        plan_run(cfg(model="lenet", warm_start="starter"), facts=CROPS)
    assert plan_run(cfg(weights="random"), facts=CROPS).config.warm_start == "none"


def test_a_planned_config_plans_to_itself(workspace) -> None:
    once = plan_run(cfg(), facts=PHOTOS).config
    assert plan_run(once, facts=PHOTOS).config == once


def test_rehearsal_recipe_when_the_starter_has_a_memory_of_these_classes(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keras_home: Path
) -> None:
    from models import mobilenet_v2

    starter = tmp_path / "starter"
    starter.mkdir()
    mobilenet_v2.make_model((32, 32, 3), 2, neurons=8).save(starter / "model.keras")
    (starter / "labels.txt").write_text("".join(f"{c}\n" for c in CLASSES), encoding="utf-8")
    (starter / "memory.npz").write_bytes(b"present")
    (starter / "starter.json").write_text(
        json.dumps({"recipe": {"neurons": 8}, "memory": {"image_size": 32}})
    )
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(starter))
    plan = plan_run(cfg(image_size=32, neurons=8), facts=CROPS)
    assert picked(plan, REHEARSAL_RECIPE) == REHEARSAL_RECIPE
    assert "rehearsed" in " ".join(plan.notes) and "base and head from the starter" in " ".join(plan.notes)
    # another image size than the memory's: the crop recipe, and the head still warm-starts
    other = plan_run(cfg(image_size=64, neurons=8), facts=CROPS)
    assert picked(other, CROP_RECIPE) == CROP_RECIPE
    # other classes: the base only
    five = plan_run(cfg(image_size=32, neurons=8), facts=FIVE)
    assert "classes" in " ".join(five.notes) and "head is new" in " ".join(five.notes)


def test_dataset_facts_count_photo_faces_and_detector_framed_ones(workspace: Path) -> None:
    version = make_dataset_version(workspace, per_split=(4, 2, 2))
    manifest, folder = find_manifest(version, workspace)
    records = {f.sha256: {"source": "voc:s" if i % 2 else "folder:f"} for i, f in enumerate(manifest.files)}
    (folder / ".sources.json").write_text(json.dumps(records), encoding="utf-8")
    facts = dataset_facts(version, workspace)
    assert (facts.files, facts.photo_files, facts.detector_framed, facts.classes) == (16, 8, 0, CLASSES)
    with pytest.raises(ConfigError, match="000000000000"):
        dataset_facts("000000000000", workspace)


@pytest.mark.parametrize(
    ("path", "framed"),
    [
        ("with_mask/maksssksksss1_det_0.png", True),
        ("with_mask/maksssksksss1_0.png", False),
        ("a_det_/x.png", False),
    ],
)
def test_detector_framed_crops_are_named_by_the_voc_import(path: str, framed: bool) -> None:
    assert is_detector_framed(path) is framed
