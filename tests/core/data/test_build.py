"""core.data.build: crops from a project (names, folders, "None", padding, flagged boxes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.annotation.annotations import NONE, Annotations, Box, ImageAnnotations
from core.annotation.projects import Project
from core.data.build import (
    BuildReport,
    crop_boxes,
    crop_project,
)
from core.data.dataset import Dataset
from core.errors import DatasetError
from core.imaging import square_crop
from tests.core.data.test_dataset import smooth_image
from tests.images import array_bytes


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def red_blue() -> np.ndarray:
    """A 60x40 image: left half red, right half blue."""
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30] = (255, 0, 0)
    img[:, 30:] = (0, 0, 255)
    return img


@pytest.fixture
def project(workspace: Path) -> Project:
    """A red|blue image with boxes at two corners, a small one on the seam and a "None" box."""
    p = Project.create("shots")
    p.add_image("Shot 1.png", array_bytes(red_blue()))
    p.add_image("other.png", array_bytes(smooth_image(5, (32, 32))))
    assert p.list_images() == ["other.png", "Shot_1.png"]
    ann = Annotations(["mask", "no mask"])
    ann.images["Shot_1.png"] = ImageAnnotations(
        [
            Box(0, 0, 20, 10, "mask"),  # top-left corner, wide: its square leaves the image
            Box(52, 30, 60, 40, "no mask"),  # bottom-right corner
            Box(40, 2, 48, 10, NONE),  # "None": never cropped
            Box(27, 16, 34, 23, "mask"),  # 7x7, the smallest box the annotator allows, on the seam
        ]
    )
    ann.images["other.png"] = ImageAnnotations([Box(0, 0, 32, 32, NONE)])  # only "None": no crop
    p.save(ann)
    assert len(p.load().boxes("Shot_1.png")) == 4
    return p


def test_crop_project_names_folders_and_skips_none(project: Project) -> None:
    ds = Dataset.create("faces")
    report = crop_project(project, ds, size=48)
    # <label folder>/<image stem>_<box number>.png; box 3 is "None", so there is no _3.
    assert sorted(report.written) == ["mask/Shot_1_1.png", "mask/Shot_1_4.png", "no_mask/Shot_1_2.png"]
    assert report.counts() == {"mask": 2, "no_mask": 1}
    assert ds.classes() == ["mask", "no_mask"]
    assert not report.skipped
    for rel in report.written:
        assert load(ds.root / rel).shape == (48, 48, 3)


def test_crop_squares_and_pads_by_repeating_edges(project: Project) -> None:
    ds = Dataset.create("faces")
    crop_project(project, ds, size=40)
    corner = load(ds.root / "mask/Shot_1_1.png")  # box 20x10 at (0,0) -> square 20x20 from y=-5
    assert (corner == (255, 0, 0)).all()  # rows above the image repeat the edge: no black bars
    br = load(ds.root / "no_mask/Shot_1_2.png")  # 8x10 box -> 10x10 square, 1 column past the edge
    assert (br == (0, 0, 255)).all()
    small = load(ds.root / "mask/Shot_1_4.png")  # 7x7 on the red|blue seam, scaled up, not stretched
    assert small.shape == (40, 40, 3)
    assert small[20, 2, 0] > 200 and small[20, 2, 2] < 50 and small[20, 37, 2] > 200
    # The very same function Predict and Live use.
    upright = np.asarray(Image.open(project.image_path("Shot_1.png")).convert("RGB"))
    assert (br == square_crop(upright, (52, 30, 60, 40), 40)).all()


def test_crop_again_is_idempotent_and_min_side_skips(project: Project) -> None:
    ds = Dataset.create("faces")
    crop_project(project, ds, size=32)
    again = crop_project(project, ds, size=32, min_side=9)
    assert not again.written
    assert sorted(again.unchanged) == ["mask/Shot_1_1.png", "no_mask/Shot_1_2.png"]
    assert [s.split(":")[0] for s in again.skipped] == ["Shot_1 box 4"]
    with pytest.raises(DatasetError):
        crop_project(project, ds, size=4)


def test_crop_boxes_larger_than_or_outside_the_image(workspace: Path) -> None:
    ds = Dataset.create("d")
    report = BuildReport()
    boxes = [((-20, -20, 80, 60), "m"), ((100, 100, 120, 120), "m"), ((0, 0, 60, 40), "m")]
    crop_boxes(ds, red_blue(), "scene", boxes, report, size=20)
    assert report.written == ["m/scene_1.png", "m/scene_2.png", "m/scene_3.png"]
    whole = load(ds.root / "m/scene_1.png")  # 100x100 square around a 60x40 image
    assert not (whole.sum(axis=2) == 0).any()  # padded with edge colours, never black
    assert (whole[:, :6] == (255, 0, 0)).all() and (whole[:, -6:] == (0, 0, 255)).all()
    outside = load(ds.root / "m/scene_2.png")  # wholly outside: the nearest edge pixel
    assert (outside == (0, 0, 255)).all()
    fit = load(ds.root / "m/scene_3.png")  # the whole image: 60x60, 10 rows repeated above and below
    assert (fit[:, :9] == (255, 0, 0)).all() and (fit[:, -9:] == (0, 0, 255)).all()


def test_crop_project_lists_missing_images(project: Project) -> None:
    (project.images_dir / "other.png").unlink()
    with project.edit() as ann:
        ann.images["other.png"] = ImageAnnotations([Box(0, 0, 10, 10, "mask")])
    report = crop_project(project, Dataset.create("faces"), size=16)
    assert len(report.written) == 3
    assert [s.split(":")[0] for s in report.skipped] == ["other.png"]


def test_same_stem_in_two_images_does_not_overwrite(workspace: Path) -> None:
    p = Project.create("p")
    p.add_image("a.png", array_bytes(smooth_image(1)))
    p.add_image("a.jpg", array_bytes(smooth_image(2), "JPEG"))
    with p.edit() as ann:
        ann.add_category("m")
        for name in ("a.png", "a.jpg"):
            ann.images[name] = ImageAnnotations([Box(0, 0, 30, 30, "m")])
    report = crop_project(p, Dataset.create("d"), size=16)
    assert sorted(report.written) == ["m/a_1-2.png", "m/a_1.png"]


def test_crop_project_skips_flagged_boxes_unless_asked(project: Project) -> None:
    with project.edit() as ann:
        ann.add_box_or_flag("Shot_1.png", Box(2, 2, 12, 8, "mask"))  # inside box 1: flagged, box 5
    assert project.load().flagged_count() == 1
    skipped = crop_project(project, Dataset.create("a"), size=16)
    assert "mask/Shot_1_5.png" not in skipped.written and len(skipped.written) == 3
    kept = crop_project(project, Dataset.create("b"), size=16, include_flagged=True)
    assert sorted(kept.written) == sorted([*skipped.written, "mask/Shot_1_5.png"])


def test_human_only_leaves_out_a_models_unchecked_guesses(workspace: Path) -> None:
    p = Project.create("guessed")
    p.add_image("a.png", array_bytes(red_blue()))
    ann = Annotations(["mask", "no mask"])
    ann.images["a.png"] = ImageAnnotations(
        [Box(0, 0, 20, 10, "mask"), Box(52, 30, 60, 40, "no mask", score=0.71)]  # the second: a model's guess
    )
    p.save(ann)
    every = crop_project(p, Dataset.create("every"), size=16)
    assert sorted(every.written) == ["mask/a_1.png", "no_mask/a_2.png"]
    human = crop_project(p, Dataset.create("human"), size=16, human_only=True)
    assert human.written == ["mask/a_1.png"]
