from __future__ import annotations

import numpy as np
import pytest

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project
from core.errors import ClassifierError
from core.inference.classify_boxes import classify_unlabelled, map_labels
from tests.images import array_bytes


class ColourModel:
    """Duck-typed classifier: red crops are 'mask' (0.9), blue crops 'no_mask' (0.55)."""

    labels = ("mask", "no_mask")
    image_size = 32

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, images: np.ndarray) -> np.ndarray:
        self.batches.append(len(images))
        red = images[..., 0].mean(axis=(1, 2)) > images[..., 2].mean(axis=(1, 2))
        return np.array([[0.9, 0.1] if r else [0.45, 0.55] for r in red], np.float32)


def two_colour_png() -> bytes:
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:, :100] = (220, 30, 30)
    arr[:, 100:] = (30, 30, 220)
    return array_bytes(arr)


@pytest.fixture
def project(workspace) -> Project:
    p = Project.create("cls")
    p.add_image("a.png", two_colour_png())
    with p.edit() as ann:
        ann.add_category("mask")
        ann.add_category("no_mask")
        ann.add_box("a.png", Box(10, 10, 90, 90))  # red: mask 0.9
        ann.add_box("a.png", Box(110, 10, 190, 90))  # blue: no_mask 0.55, under 0.6
        ann.add_box("a.png", Box(40, 92, 60, 100, "no_mask"))  # already labelled: untouched
    return p


def test_fills_none_boxes_above_threshold_in_one_batch(project: Project) -> None:
    model = ColourModel()
    report = classify_unlabelled(project, ["a.png"], model, threshold=0.6)
    boxes = project.load().boxes("a.png")
    assert [b.label for b in boxes] == ["mask", NONE, "no_mask"]
    assert boxes[0].score == pytest.approx(0.9)
    assert (report.candidates, report.labelled, report.uncertain) == (2, 1, 1)
    assert model.batches == [2], "all boxes of an image go to the model in one batch"


def test_lower_threshold_labels_the_uncertain_box(project: Project) -> None:
    classify_unlabelled(project, ["a.png"], ColourModel(), threshold=0.5)
    assert [b.label for b in project.load().boxes("a.png")] == ["mask", "no_mask", "no_mask"]


def test_labels_map_by_name_with_clear_messages(project: Project) -> None:
    with project.edit() as ann:
        ann.rename_category("no_mask", "bare")
    m = map_labels(ColourModel.labels, project.load().categories)
    assert m.matched == ("mask",) and m.missing == ("no_mask",)
    assert 'stay "None"' in (m.message or "")
    report = classify_unlabelled(project, ["a.png"], ColourModel(), threshold=0.5)
    assert report.unmapped == 1 and report.labelled == 1
    none = map_labels(["x", "y"], ["None", "mask"])
    assert "None of the model's labels" in (none.message or "")


def test_no_matching_label_or_no_model_is_refused(project: Project) -> None:
    with project.edit() as ann:
        ann.delete_category("mask")
        ann.delete_category("no_mask")
    with pytest.raises(ClassifierError, match="None of the model's labels"):
        classify_unlabelled(project, ["a.png"], ColourModel(), threshold=0.5)
    with pytest.raises(ClassifierError, match="needs a model"):
        classify_unlabelled(project, ["a.png"], None, threshold=0.5)
