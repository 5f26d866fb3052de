"""The starter recipe's pieces: scene subsets by symlink, the model card, the offline Keras cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.training import starter_build
from core.training.starter_build import RECIPE, card_text, link_scenes, seed_keras_cache


def test_link_scenes_takes_only_the_named_photos(tmp_path: Path) -> None:
    voc = tmp_path / "voc"
    (voc / "images").mkdir(parents=True)
    (voc / "annotations").mkdir()
    for n in ("a", "b", "c"):
        (voc / "images" / f"{n}.png").write_bytes(b"x")
        (voc / "annotations" / f"{n}.xml").write_text("<annotation/>")
    out = link_scenes(voc, ["a.xml", "c"], tmp_path / "subset")
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "a.xml", "c.png", "c.xml"]
    assert all(p.is_symlink() for p in out.iterdir())
    assert len(list(link_scenes(voc, None, tmp_path / "all").iterdir())) == 6


def test_the_card_states_data_recipe_figures_and_the_command() -> None:
    info = {
        "labels": ["with_mask", "without_mask"],
        "recipe": dict(RECIPE),
        "threshold": 0.81,
        "crop_metrics": {"accuracy": 0.987, "macro_f1": 0.986, "test_images": 330},
        "data": {"files_per_source": {"folder:face_mask_binary_real": 1600, "voc:voc": 590}},
        "scene_cv": {
            "faces": 606,
            "found_and_right": {"with_mask": 0.86, "without_mask": 0.71},
            "accuracy_on_found": 0.93,
            "detector_recall": 0.87,
        },
        "build_wall_s": 412.0,
    }
    text = card_text(info)
    for needle in ("CC0", "MIT", "0.987", "0.810", "0.860", "0.710", "make starter", "606 faces", "412.0 s"):
        assert needle in text, needle


def test_offline_keras_cache_is_seeded_only_when_the_weights_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    (shared / "weights" / "mobilenet_v2_imagenet_no_top").mkdir(parents=True)
    weights = shared / "weights" / "mobilenet_v2_imagenet_no_top" / starter_build.WEIGHTS_FILE
    weights.write_bytes(b"h5")
    monkeypatch.setattr(starter_build, "SHARED", shared)
    home = tmp_path / "home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    seed_keras_cache(tmp_path / "t1")
    assert os.environ["KERAS_HOME"] == str(tmp_path / "t1" / "keras")
    assert (tmp_path / "t1" / "keras" / "models" / starter_build.WEIGHTS_FILE).resolve() == weights
    (home / "models").mkdir(parents=True)
    (home / "models" / starter_build.WEIGHTS_FILE).write_bytes(b"h5")
    monkeypatch.setenv("KERAS_HOME", str(home))
    seed_keras_cache(tmp_path / "t2")
    assert os.environ["KERAS_HOME"] == str(home)
