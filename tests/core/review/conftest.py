"""Shared pieces of the review-queue tests: photos, a counting fake detector, a colour model
standing in for a classifier, and a project with every kind of box."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project
from core.vision.detections import Detection
from tests.core.inference.test_classify_boxes import ColourModel  # noqa: F401 - re-exported for the review tests
from tests.core.runs.test_active_model import make_run
from tests.images import array_bytes

CLASSES = ("mask", "no_mask")


def photo(seed: int = 0) -> bytes:
    """A 200 x 100 photo: a red left half (read as "mask"), a blue right half ("no_mask")."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 30, (100, 200, 3), dtype=np.uint8)
    arr[:, :100, 0] += 200
    arr[:, 100:, 2] += 200
    return array_bytes(arr)


class FakeDetector:
    """Finds one face on each half of a photo; counts its calls."""

    name = "fake-detector"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        return [Detection(10, 10, 90, 90, 0.95), Detection(110, 10, 190, 90, 0.65)]


@pytest.fixture
def run_id(workspace: Path) -> str:
    """A finished run whose classes are CLASSES (its model file is never loaded here)."""
    return make_run(workspace, labels=CLASSES)


@pytest.fixture
def project(workspace: Path) -> Project:
    """Project "p": a.png with a "None" detector box (score 0.7), a model-labelled box (score
    0.9) and a hand-labelled box; b.png with no box yet."""
    p = Project.create("p")
    p.add_image("a.png", photo(0))
    p.add_image("b.png", photo(1))
    with p.edit() as ann:
        for c in CLASSES:
            ann.add_category(c)
        ann.add_box("a.png", Box(10, 10, 90, 90, NONE, 0.7))
        ann.add_box("a.png", Box(110, 10, 190, 90, "no_mask", 0.9))
        ann.add_box("a.png", Box(40, 92, 60, 100, "mask"))  # by hand: not queued
    return p
