"""core.annotation.formats.common: one way to read a file (FormatError naming it), one way to write
JSON file bytes, and every exporter returns bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.formats import categories, coco, seed_json, voc, yolo, yolo_import
from core.annotation.formats.common import json_bytes, read_file_bytes
from core.errors import FormatError

SIZES = {"a.jpg": (100, 80)}


def annotations() -> Annotations:
    ann = Annotations(["with_mask", "masqué"])
    ann.add_box("a.jpg", Box(10, 10, 50, 60, "masqué"))
    return ann


def test_read_file_bytes_reads_or_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_bytes(b"{}")
    assert read_file_bytes(tmp_path / "ok.json") == b"{}"
    with pytest.raises(FormatError, match="cannot read") as info:
        read_file_bytes(tmp_path / "missing.json")
    assert info.value.file == "missing.json"
    with pytest.raises(FormatError, match="cannot read"):
        read_file_bytes(tmp_path)  # a folder


def test_every_loader_turns_an_unreadable_file_into_a_format_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("annotations.json", "coco.json", "a.xml", "classes.txt"):
        (tmp_path / name).write_text("{}")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    for load in (
        lambda: seed_json.load_seed_json(tmp_path / "annotations.json"),
        lambda: coco.load_coco(tmp_path / "coco.json"),
        lambda: voc.load_voc_dir(tmp_path),
        lambda: yolo_import.load_yolo_dir(tmp_path, SIZES),
    ):
        with pytest.raises(FormatError, match="cannot read \\(Permission denied\\)"):
            load()


def test_json_bytes_keep_unicode_refuse_nan_and_end_with_a_newline() -> None:
    data = json_bytes({"name": "masqué", "n": [1, 2]})
    assert data.endswith(b"}\n") and "masqué".encode() in data and b'  "n"' in data
    assert json.loads(data) == {"name": "masqué", "n": [1, 2]}
    assert json_bytes([1], indent=None) == b"[1]\n"
    with pytest.raises(ValueError):
        json_bytes({"x": float("nan")})


def test_every_exporter_returns_bytes(tmp_path: Path) -> None:
    ann = annotations()
    assert isinstance(seed_json.dumps_seed_json(ann), bytes)
    assert isinstance(coco.dumps_coco(ann, SIZES), bytes)
    assert isinstance(categories.dumps_categories_json(ann.categories), bytes)
    for files in (voc.dumps_voc(ann, SIZES), yolo.dumps_yolo(ann, SIZES)):
        assert files and all(isinstance(v, bytes) for v in files.values())
    # the seed file written to disk is exactly the download
    seed_json.save_seed_json(ann, tmp_path / "annotations.json")
    assert (tmp_path / "annotations.json").read_bytes() == seed_json.dumps_seed_json(ann)
    assert (
        seed_json.load_seed_json(tmp_path / "annotations.json").annotations.label_counts()
        == ann.label_counts()
    )
