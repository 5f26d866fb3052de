"""core.vision.detectors: the registry and get_detector's shared instances, detect_faces_file, and
the scale-adaptive detector (with stand-in parts, then on a real scene)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DetectorError, ImageLoadError
from core.imaging import load_rgb_array
from core.vision.detections import Detection, FaceDetector
from core.vision.detectors import (
    ADAPTIVE,
    DEFAULT_DETECTOR,
    DEFAULT_PREDICT_DETECTOR,
    DETECTORS,
    ScaleAdaptiveDetector,
    detect_faces_file,
    get_detector,
)


class FixedDetector:
    """Returns the same detections for every frame; counts calls."""

    name = "fixed"

    def __init__(self, boxes: list[tuple[float, float, float, float, float]], input_size=(320, 256)) -> None:
        self.boxes = boxes
        self.input_size = input_size
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        return [Detection(*b) for b in self.boxes]


@pytest.mark.parametrize("name", list(DETECTORS))
def test_a_blank_grey_frame_has_no_faces(name: str) -> None:
    detector = get_detector(name)
    assert detector.detect(np.full((480, 640, 3), 128, dtype=np.uint8)) == []
    assert detector.detect(np.full((300, 200, 3), 128, dtype=np.uint8)) == []


def test_registry_and_cache() -> None:
    assert DEFAULT_DETECTOR == "centerface" and DEFAULT_PREDICT_DETECTOR == ADAPTIVE
    assert list(DETECTORS) == [
        ADAPTIVE,
        "centerface-thorough",
        "centerface",
        "centerface-fast",
        "centerface-live",
        "yunet",
        "haar",
    ]
    assert all(spec.help for spec in DETECTORS.values())
    assert get_detector() is get_detector("centerface")
    for name in DETECTORS:
        detector: FaceDetector = get_detector(name)
        assert detector.name == name
    assert get_detector("haar", min_neighbors=3) is not get_detector("haar")
    assert get_detector("haar", min_neighbors=3) is get_detector("haar", min_neighbors=3)
    assert get_detector("centerface-fast", score_threshold=0.6).input_size == (320, 256)
    assert get_detector("centerface", input_size=[320, 256]) is get_detector(
        "centerface", input_size=(320, 256)
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("yolo-face", {}),
        ("", {}),
        ("haar", {"no_such_option": 1}),
        ("centerface", {"input_size": (300, 200)}),
        ("centerface", {"score_threshold": 1.5}),
        ("centerface", {"box_adjust": (0, 0.1, 1, 1)}),
        ("centerface-fast", {"input_size": (320, 240)}),
        ("yunet", {"max_side": 1280}),
        ("yunet", {"max_side": 32}),
        ("yunet", {"threads": 0}),
        ("yunet", {"score_threshold": 1.0}),
    ],
)
def test_bad_detector_requests_raise_detector_error(name: str, kwargs: dict) -> None:
    with pytest.raises(DetectorError):
        get_detector(name, **kwargs)


def test_detect_faces_file_finds_the_faces_of_the_upright_image(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "face_mask_binary_synthetic" / "without_mask" / "12.jpg"
    haar = get_detector("haar")
    best = haar.detect(load_rgb_array(path))[0]
    assert detect_faces_file(path, get_detector("haar"))[0] == best
    upright = Image.fromarray(load_rgb_array(path))
    upright.save(tmp_path / "upright.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter left; viewers turn it back
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "turned.png", exif=exif)
    dets = detect_faces_file(tmp_path / "upright.png", haar)
    assert dets and detect_faces_file(tmp_path / "turned.png", haar) == dets


def test_detect_faces_file_raises_image_load_error_for_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not an image", encoding="utf-8")
    with pytest.raises(ImageLoadError):
        detect_faces_file(tmp_path / "notes.jpg", get_detector("haar"))
    with pytest.raises(ImageLoadError):
        detect_faces_file(tmp_path / "missing.jpg", get_detector("haar"))


# ----- the scale-adaptive detector--------------------------------------------------------------
@pytest.mark.parametrize(
    ("coarse_boxes", "size", "fine_called"),
    [
        ([(100, 100, 260, 300, 0.9)], (640, 480), False),  # 160 px face = 80 px on the coarse canvas
        ([(100, 100, 140, 150, 0.9)], (640, 480), True),  # 40 px = 20 px on the canvas: small
        ([(100, 100, 148, 160, 0.9)], (640, 480), False),  # 48 px = 24 px: the limit
        ([], (640, 480), True),  # nothing found: look again at the fine scale
        ([(10, 10, 40, 40, 0.9)], (200, 150), False),  # small image: upscaled 1.6x -> 48 px
        # portrait: the canvas turns to 256x320, scale 0.5, so 50 px is 25 px (unturned: 0.4 -> 20)
        ([(10, 10, 60, 60, 0.9)], (480, 640), False),
    ],
)
def test_adaptive_detector_escalates_only_for_small_or_no_faces(
    coarse_boxes: list, size: tuple[int, int], fine_called: bool
) -> None:
    coarse = FixedDetector(coarse_boxes)
    fine = FixedDetector([(1, 1, 30, 30, 0.5)], input_size=(800, 608))
    det = ScaleAdaptiveDetector(coarse, fine, min_face_px=24)
    found = det.detect(np.zeros((size[1], size[0], 3), np.uint8))
    assert fine.calls == int(fine_called)
    assert len(found) == (1 if fine_called else len(coarse_boxes))
    assert det.passes == {"coarse_only": int(not fine_called), "fine": int(fine_called)}


def test_adaptive_detector_checks_its_parts() -> None:
    with pytest.raises(DetectorError):
        ScaleAdaptiveDetector(FixedDetector([]), FixedDetector([]), min_face_px=0)
    with pytest.raises(DetectorError, match="unknown face detector"):
        get_detector("nope")


def test_adaptive_detector_finds_real_faces(shared_data: Path) -> None:
    from benchmarks.faces import load_voc
    from core.geometry import match_boxes
    from core.imaging import load_rgb_array

    voc = shared_data / "face_mask_detection_voc"
    image = load_rgb_array(voc / "images" / "maksssksksss105.jpg")
    truths = [b for _, b in load_voc(voc / "annotations" / "maksssksksss105.xml")]
    det = get_detector(DEFAULT_PREDICT_DETECTOR)
    assert isinstance(det, ScaleAdaptiveDetector) and get_detector(ADAPTIVE) is det
    assert det.coarse is get_detector("centerface-fast") and det.fine is get_detector("centerface")
    result = match_boxes(det.detect(image), truths)
    assert result.matched >= len(truths) // 2
