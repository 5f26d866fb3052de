"""core.inference.predict_io: Predict's input folders, label -> category mapping, and sending an
image with its predicted boxes to an annotation project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project
from core.errors import ImageLoadError, WorkspaceError
from core.inference.predict_io import (
    category_for,
    dated_project_name,
    folder_images,
    human_labelled_boxes,
    image_folders,
    label_fit,
    predict_photo,
    send_to_annotator,
)
from core.inference.predictor import FACE, UNCERTAIN, Face, Predictor
from core.vision.detections import Detection
from tests.images import array_bytes

LABELS = ("with_mask", "without_mask")


def frame(w: int = 160, h: int = 120, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def jpeg(w: int = 200, h: int = 150) -> bytes:
    return array_bytes(frame(w, h), "JPEG")


# ----- label -> category ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "categories", "expected"),
    [
        ("with_mask", ["None", "with_mask"], "with_mask"),
        ("with_mask", ["None", "With Mask"], "With Mask"),
        ("without_mask", ["None", "with_mask"], NONE),
        (UNCERTAIN, ["None", "with_mask"], NONE),
        (FACE, ["None"], NONE),
        ("with-mask", ["None", "WITH  mask"], "WITH  mask"),
        (" with_mask ", ["None", "with_mask"], "with_mask"),
        ("With Mask", ["None", "with_mask", "With Mask"], "With Mask"),  # the exact name wins
        ("none", ["None"], NONE),
        ("withmask", ["None", "with_mask"], NONE),  # words must still be apart
    ],
)
def test_labels_map_to_categories_by_name(label: str, categories: list[str], expected: str) -> None:
    assert category_for(label, categories) == expected


# ----- send to the annotator ------------------------------------------------------------------
def test_send_to_annotator_adds_the_image_and_boxes(workspace: Path) -> None:
    project = Project.create("flywheel")
    with project.edit() as ann:
        ann.add_category("with_mask")
    faces = [
        Face(10, 10, 60, 70, "with_mask", 0.91),
        Face(100, 20, 150, 80, UNCERTAIN, 0.52),
        Face(12, 12, 58, 66, "with_mask", 0.6),  # overlaps the first: refused by the box rules
        Face(190, 140, 193, 143, "with_mask", 0.9),  # too small: refused
    ]
    report = send_to_annotator(project, "scene 1.jpg", jpeg(), faces)
    assert report.image == "scene_1.jpg" and report.added == 2 and len(report.refused) == 2
    assert "overlaps" in report.refused[0] and "Box refused" in report.refused[1]
    assert report.mapping == {"with_mask": "with_mask", UNCERTAIN: NONE}
    boxes = project.load().boxes("scene_1.jpg")
    assert [(b.xyxy, b.label, b.score) for b in boxes] == [
        ((10, 10, 60, 70), "with_mask", 0.91),
        ((100, 20, 150, 80), NONE, 0.52),
    ]
    again = send_to_annotator(project, "scene 1.jpg", jpeg(), faces[:2])
    assert again.image == "scene_1.jpg" and again.added == 0  # same bytes, boxes already there


def test_send_can_create_the_models_categories(workspace: Path) -> None:
    project = Project.create("new")
    report = send_to_annotator(
        project, "x.jpg", jpeg(), [Face(10, 10, 60, 70, "without_mask", 0.9)], add_categories=LABELS
    )
    assert report.categories_added == list(LABELS)
    assert project.load().boxes("x.jpg")[0].label == "without_mask"


def test_categories_that_exist_under_another_spelling_are_not_added(workspace: Path) -> None:
    project = Project.create("spelled")
    with project.edit() as ann:
        ann.add_category("With Mask")
    report = send_to_annotator(
        project, "x.jpg", jpeg(), [Face(10, 10, 60, 70, "with_mask", 0.8)], add_categories=LABELS
    )
    assert report.categories_added == ["without_mask"]
    assert project.load().categories == ["None", "With Mask", "without_mask"]
    assert project.load().boxes("x.jpg")[0].label == "With Mask"


@dataclass
class Detected:
    """Anything with xyxy and label works; a face without a confidence gets no score."""

    label: str
    xyxy: tuple[float, float, float, float]


def test_scores_are_rounded_and_optional(workspace: Path) -> None:
    project = Project.create("scores")
    faces = [Face(10, 10, 60, 70, "face", 0.123456789), Detected("face", (100, 10, 150, 70))]
    report = send_to_annotator(project, "x.png", jpeg(), faces)
    assert report.added == 2 and report.mapping == {"face": NONE}
    assert [b.score for b in project.load().boxes("x.png")] == [0.1235, None]


def test_a_file_that_is_not_an_image_adds_nothing(workspace: Path) -> None:
    project = Project.create("bad")
    with pytest.raises(ImageLoadError):
        send_to_annotator(project, "x.jpg", b"not a picture", [Face(1, 1, 40, 40, "a", 0.9)])
    assert project.list_images() == [] and project.load().images == {}


# ----- where predictions come from and go ---------------------------------------------------
def test_workspace_image_folders(workspace: Path) -> None:
    (workspace / "datasets" / "d" / "with_mask").mkdir(parents=True)
    (workspace / "datasets" / "d" / "with_mask" / "IMG_10.jpg").write_bytes(jpeg())
    (workspace / "datasets" / "d" / "with_mask" / "IMG_2.jpg").write_bytes(jpeg())
    (workspace / "cache" / "x").mkdir(parents=True)
    (workspace / "cache" / "x" / "a.png").write_bytes(jpeg())
    (workspace / ".hidden").mkdir()
    (workspace / ".hidden" / "a.png").write_bytes(jpeg())
    Project.create("p").add_image("a.jpg", jpeg())
    assert image_folders() == ["datasets/d/with_mask", "projects/p/images"]
    assert [p.name for p in folder_images("datasets/d/with_mask")] == ["IMG_2.jpg", "IMG_10.jpg"]
    for bad in ("../x", "/etc", "nope"):
        with pytest.raises(WorkspaceError):
            folder_images(bad)


def test_image_folders_root_depth_and_skipped_names(tmp_path: Path) -> None:
    (tmp_path / "top.png").write_bytes(jpeg(20, 20))
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "x.jpg").write_bytes(jpeg(20, 20))
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r1" / "cm.png").write_bytes(jpeg(20, 20))
    (tmp_path / "only_hidden").mkdir()
    (tmp_path / "only_hidden" / ".x.png").write_bytes(jpeg(20, 20))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("x")
    assert image_folders(tmp_path) == [".", "a/b/c"]
    assert image_folders(tmp_path, max_depth=2) == ["."]
    assert image_folders(tmp_path / "missing") == []


def test_folder_images_lists_only_visible_image_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub.png").mkdir(parents=True)  # a folder with an image name
    for name in ("b10.PNG", "b9.jpg", ".hidden.jpg", "notes.txt", "a.webp"):
        (folder / name).write_bytes(b"x")
    assert [p.name for p in folder_images("in", tmp_path)] == ["a.webp", "b9.jpg", "b10.PNG"]
    assert all(p.parent == folder for p in folder_images("in", tmp_path))
    with pytest.raises(WorkspaceError):
        folder_images("in/notes.txt", tmp_path)  # a file is not a folder


def test_dated_project_name() -> None:
    assert dated_project_name("predictions", date(2026, 1, 2)) == "predictions-2026-01-02"
    assert dated_project_name("live") == f"live-{date.today().isoformat()}"


def test_human_labelled_boxes_leave_out_model_boxes_and_none(workspace: Path) -> None:
    project = Project.create("count")
    name = project.add_image("x.jpg", jpeg())
    with project.edit() as ann:
        ann.add_category("with_mask")
        ann.add_box(name, Box(10, 10, 40, 40, "with_mask"))  # by hand
        ann.add_box(name, Box(50, 10, 80, 40, "with_mask", 0.9))  # from the model
        ann.add_box(name, Box(90, 10, 120, 40))  # by hand, not labelled yet
    assert human_labelled_boxes(project) == 1
    assert human_labelled_boxes(Project.create("empty")) == 0


@pytest.mark.parametrize(
    ("labels", "categories", "unknown"),
    [
        (("with_mask", "without_mask"), ["None", "with_mask", "without_mask"], []),
        (("with_mask", "without_mask"), ["None", "With Mask"], ["without_mask"]),
        ((FACE,), ["None"], []),
    ],
)
def test_label_fit(labels: tuple[str, ...], categories: list[str], unknown: list[str]) -> None:
    assert label_fit(labels, categories)[1] == unknown


# ----- a photo larger than the frame the detector sees ------------------------------------------
class WhiteBoxDetector:
    """Finds the white rectangle of a frame; records the shape of every frame it saw."""

    name = "white-box"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.shapes.append(image.shape)
        ys, xs = np.nonzero(image[:, :, 0] > 150)
        return [Detection(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1), 0.9)]


class CropRecorder:
    labels = ("with_mask", "without_mask")
    image_size = 32

    def __init__(self) -> None:
        self.crops: list[np.ndarray] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.crops.extend(x)
        return np.tile(np.array([[0.9, 0.1]], np.float32), (len(x), 1))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_predict_photo_detects_on_a_bounded_copy_and_answers_in_original_pixels(fmt: str) -> None:
    arr = np.full((1500, 2400, 3), 30, np.uint8)
    arr[300:900, 1200:1800] = 255  # the "face": x 1200..1800, y 300..900 in the photo's own pixels
    det, model = WhiteBoxDetector(), CropRecorder()
    result = predict_photo(Predictor(det, model), array_bytes(arr, fmt), fit_pixels=200_000)
    assert len(det.shapes) == 1
    h, w = det.shapes[0][:2]
    assert h * w <= 200_000 and abs(w / h - 1.6) < 0.02  # the detector saw a bounded copy
    assert (result.width, result.height) == (2400, 1500)
    (face,) = result.faces
    tolerance = 2 * 2400 / w
    assert face.xyxy == pytest.approx((1200, 300, 1800, 900), abs=tolerance)
    assert face.label == "with_mask"
    assert model.crops[0].mean() > 200  # the crop is the white face, cut from the same copy


def test_predict_photo_leaves_a_small_photo_as_it_is() -> None:
    arr = np.full((120, 160, 3), 30, np.uint8)
    arr[20:60, 40:90] = 255
    det = WhiteBoxDetector()
    result = predict_photo(Predictor(det), array_bytes(arr, "PNG"))
    assert det.shapes == [(120, 160, 3)]
    assert result.faces[0].xyxy == (40, 20, 90, 60) and (result.width, result.height) == (160, 120)


def test_predict_photo_names_a_broken_upload() -> None:
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        predict_photo(Predictor(WhiteBoxDetector()), b"not an image", name="broken.jpg")
