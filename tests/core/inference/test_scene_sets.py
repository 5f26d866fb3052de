"""core.inference.scene_sets: scene sets from a VOC folder or a project, and the mapping of scene
classes to a model's classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotation.annotations import Box
from core.annotation.projects import Project
from core.inference.scene_sets import (
    Scene,
    SceneError,
    SceneFace,
    SceneSet,
    check_mapping,
    default_mapping,
    load_scene_set,
    scene_sources,
)
from tests.core.inference.test_scenes import write_voc_dir

LABELS = ("with_mask", "without_mask")


@pytest.mark.parametrize(
    ("scene", "model", "expected"),
    [
        (["with_mask", "without_mask"], LABELS, {"with_mask": "with_mask", "without_mask": "without_mask"}),
        (
            ["With Mask", "no-mask"],
            ("with_mask", "no_mask"),
            {"With Mask": "with_mask", "no-mask": "no_mask"},
        ),
        (["mask_weared_incorrect"], LABELS, {"mask_weared_incorrect": "with_mask"}),
        (["mask", "no_mask"], LABELS, {"mask": "with_mask", "no_mask": "without_mask"}),
        (["None", "hat"], LABELS, {"None": None, "hat": None}),
    ],
)
def test_default_mapping(scene, model, expected) -> None:
    assert default_mapping(scene, model) == expected


def test_mapping_that_matches_nothing_names_the_classes() -> None:
    ss = SceneSet("s", "voc", "s", (Scene("a", Path("a"), (SceneFace("hat", (0, 0, 9, 9)),)),))
    with pytest.raises(SceneError, match=r"\(hat\).*\(with_mask, without_mask\)"):
        check_mapping(default_mapping(["hat"], LABELS), ss, LABELS)
    with pytest.raises(SceneError, match="does not have"):
        check_mapping({"hat": "cap"}, ss, LABELS)
    assert check_mapping({"hat": "with_mask"}, ss, LABELS) == {"hat": "with_mask"}


def test_voc_folder_lists_missing_images_and_skips_them(tmp_path: Path, workspace: Path) -> None:
    ss = load_scene_set(write_voc_dir(tmp_path / "voc"))
    assert ss.kind == "voc" and [s.name for s in ss.scenes] == ["s1.png", "s2.png", "s3.png"]
    assert ss.classes == {"with_mask": 2, "without_mask": 3}
    assert len(ss.skipped) == 1 and "gone.png is missing" in ss.skipped[0]


def test_project_without_labelled_boxes_is_refused(workspace: Path) -> None:
    project = Project.create("empty", workspace)
    with project.edit() as ann:
        ann.add_box("a.png", Box.from_xyxy((0, 0, 30, 30)))
    with pytest.raises(SceneError, match="no image with labelled boxes"):
        load_scene_set("empty", workspace)
    with pytest.raises(SceneError, match="neither a project"):
        load_scene_set("no-such-thing", workspace)


def test_scene_sources_are_projects_with_labelled_boxes(workspace: Path) -> None:
    Project.create("unlabelled", workspace)
    labelled = Project.create("labelled", workspace)
    with labelled.edit() as ann:
        ann.add_category("with_mask")
        ann.add_box("a.png", Box.from_xyxy((0, 0, 30, 30), "with_mask"))
    assert scene_sources(workspace) == ["labelled"]
