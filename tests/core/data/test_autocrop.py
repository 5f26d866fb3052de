"""core.data.autocrop with a fake detector: crops into the unlabelled bin, the ledger, photos left to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core.annotation.projects import Project
from core.data.autocrop import auto_crop, load_ledger, photos_in, photos_to_do, send_to_project
from core.data.dataset import UNLABELLED, Dataset
from core.errors import DetectorError
from tests.core.data.test_dataset import put, smooth_image
from tests.images import array_bytes


@dataclass(frozen=True)
class FakeDetection:
    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 0.9

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


class FakeDetector:
    """Two faces in a wide image, none in a tall one."""

    name = "fake"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[FakeDetection]:
        self.calls += 1
        h, w = image.shape[:2]
        if w <= h:
            return []
        return [FakeDetection(0, 0, w / 2, h, 0.9), FakeDetection(w / 2, 0, w, h / 2, 0.8)]


class FailingDetector:
    name = "failing"

    def detect(self, image: np.ndarray) -> list[FakeDetection]:
        raise DetectorError("the detector broke")


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    put(folder / "wide.jpg", smooth_image(1, (80, 40)), "JPEG")
    put(folder / "tall.png", smooth_image(2, (30, 60)))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    (folder / "notes.txt").write_text("x")
    return folder


def test_auto_crop_fills_the_unlabelled_bin_and_the_ledger(workspace: Path, raw: Path) -> None:
    ds = Dataset.create("auto")
    photos = photos_in(raw)
    assert [name for name, _ in photos] == ["broken.jpg", "tall.png", "wide.jpg"]
    det = FakeDetector()
    report = auto_crop(ds, photos, detector=det, size=32)
    assert report.faces == {"wide.jpg": 2}
    assert report.no_face == ["tall.png"]
    assert [u.split(":")[0] for u in report.unreadable] == ["broken.jpg"]
    assert ds.unlabelled() == [f"{UNLABELLED}/wide_1.png", f"{UNLABELLED}/wide_2.png"]
    assert ds.classes() == []  # the bin is not a class
    assert sorted(e["status"] for e in load_ledger(ds).values()) == ["cropped", "no_face", "unreadable"]
    # Run again: the cropped photo is recognised by its bytes and skipped, the photo without a
    # face is tried again, the unreadable one is reported from the ledger without decoding.
    again = auto_crop(ds, photos, detector=det, size=32)
    assert again.already == ["wide.jpg"] and det.calls == 3
    assert len(again.unreadable) == 1 and again.unreadable[0].startswith("broken.jpg:")
    assert again.unreadable[0].endswith("(seen before)")
    # A photo that cannot even be read is reported and not recorded; a detector failure neither.
    missing = ("gone.jpg", raw / "gone.jpg")
    third = auto_crop(ds, [missing], detector=det, size=32)
    assert [u.split(":")[0] for u in third.unreadable] == ["gone.jpg"]
    fresh = ("fresh.png", array_bytes(smooth_image(4, (60, 40))))
    fourth = auto_crop(ds, [fresh], detector=FailingDetector(), size=32)
    assert fourth.unreadable == ["fresh.png: the detector broke"]
    assert len(load_ledger(ds)) == 3


def test_photos_to_do_lists_no_face_and_new_photos(workspace: Path, raw: Path) -> None:
    ds = Dataset.create("auto")
    auto_crop(ds, [p for p in photos_in(raw) if p[0] != "broken.jpg"], detector=FakeDetector())
    upload = ("upload.png", array_bytes(smooth_image(3, (50, 50))))
    todo = photos_to_do(ds, photos_in(raw) + [upload, ("renamed.jpg", (raw / "wide.jpg").read_bytes())])
    assert [(p[0], why) for p, why in todo] == [
        ("broken.jpg", "not processed yet"),
        ("tall.png", "no face found"),
        ("upload.png", "not processed yet"),
    ]
    auto_crop(ds, photos_in(raw), detector=FakeDetector())  # now broken.jpg is tried, and recorded
    (broken, why), *_ = photos_to_do(ds, photos_in(raw))
    assert broken[0] == "broken.jpg" and why.startswith("unreadable (")


def test_send_to_project_copies_photos_for_hand_boxing(workspace: Path, raw: Path) -> None:
    errors: list[str] = []
    photos = photos_in(raw)
    project, added = send_to_project(photos, "to box", on_error=errors.append)
    assert project.name == "to_box" and added == ["tall.png", "wide.jpg"]
    assert [e.split(":")[0] for e in errors] == ["broken.jpg"]
    again, added2 = send_to_project(photos[1:], "to_box")
    assert again.root == project.root and added2 == added  # same bytes are stored once
    assert Project.open("to_box").list_images() == ["tall.png", "wide.jpg"]
