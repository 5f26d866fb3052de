"""core.data.voc_import: every box of a Pascal VOC set becomes a crop; unreadable XML and missing
images are listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.dataset import Dataset
from core.data.voc_import import import_voc
from core.errors import DatasetError
from tests.core.data.test_dataset import put, smooth_image

VOC = """<annotation><filename>{name}</filename><size><width>80</width><height>60</height></size>
{objects}</annotation>"""
OBJ = "<object><name>{label}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"


def write_voc_set(src: Path, labels: tuple[str, str] = ("with_mask", "without mask")) -> Path:
    """A VOC folder: scene1.jpg with one box of each label, scene2.xml whose image is missing."""
    put(src / "images" / "scene1.jpg", smooth_image(1, (80, 60)), "JPEG")
    objs = OBJ.format(label=labels[0], x1=1, y1=1, x2=20, y2=30) + OBJ.format(
        label=labels[1], x1=60, y1=40, x2=80, y2=60
    )
    (src / "annotations").mkdir()
    (src / "annotations" / "scene1.xml").write_text(VOC.format(name="scene1.jpg", objects=objs))
    (src / "annotations" / "scene2.xml").write_text(VOC.format(name="scene2.jpg", objects=objs))  # no image
    return src


def test_import_voc_crops_every_box(workspace: Path, tmp_path: Path) -> None:
    src = write_voc_set(tmp_path / "voc")
    (src / "annotations" / "bad.xml").write_text("<annotation><filename>x")
    ds = Dataset.create("voc")
    report = import_voc(src, ds, size=24)
    assert sorted(report.written) == ["with_mask/scene1_1.png", "without_mask/scene1_2.png"]
    assert sorted(s.split(":")[0] for s in report.skipped) == ["bad.xml", "scene2.xml"]
    with pytest.raises(DatasetError):
        import_voc(tmp_path / "images-only", ds)
