"""Source photos recorded at build time, the label mapping on import, and photo-grouped splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.dataset import Dataset
from core.data.folder_import import import_folder
from core.data.provenance import (
    SOURCES_FILE,
    add_record,
    load_sources,
    merge_groups,
    photo_groups,
    seen_photo_hashes,
    sha256_file,
    source_counts,
)
from core.data.split import split_dataset
from core.data.voc_import import import_voc


def voc_set(folder: Path, n_photos: int = 6, faces: int = 3) -> Path:
    """`n_photos` scenes of `faces` distinct faces each, labels cycling through three classes."""
    (folder / "images").mkdir(parents=True)
    (folder / "xml").mkdir()
    labels = ["with_mask", "without_mask", "mask_weared_incorrect"]
    rng = np.random.default_rng(0)
    for p in range(n_photos):
        img = rng.integers(0, 255, (100, 60 * faces, 3), dtype=np.uint8)
        Image.fromarray(img).save(folder / "images" / f"p{p}.png")
        objs = "".join(
            f"<object><name>{labels[(p + i) % 3]}</name><bndbox><xmin>{60 * i + 6}</xmin><ymin>10</ymin>"
            f"<xmax>{60 * i + 50}</xmax><ymax>60</ymax></bndbox></object>"
            for i in range(faces)
        )
        (folder / "xml" / f"p{p}.xml").write_text(
            f"<annotation><filename>p{p}.png</filename>{objs}</annotation>"
        )
    return folder


def test_voc_crops_record_their_photo_and_the_mapping_merges_classes(tmp_path: Path, workspace: Path) -> None:
    src = voc_set(tmp_path / "voc")
    ds = Dataset.create("scenes")
    report = import_voc(src, ds, label_map={"mask_weared_incorrect": "with_mask"})
    assert sorted(ds.classes()) == ["with_mask", "without_mask"]  # no third folder
    assert ds.counts() == {"with_mask": 12, "without_mask": 6}
    sources = load_sources(ds.root)
    assert len(sources) == 18 == len(report.written)
    photo_hashes = {sha256_file(src / "images" / f"p{p}.png") for p in range(6)}
    assert {r["photo_sha256"] for r in sources.values()} == photo_hashes
    assert {r["source"] for r in sources.values()} == {"voc:voc"}


def test_a_class_mapped_to_nothing_is_left_out_and_listed(tmp_path: Path, workspace: Path) -> None:
    src = voc_set(tmp_path / "voc")
    ds = Dataset.create("scenes")
    report = import_voc(src, ds, label_map={"mask_weared_incorrect": None})
    assert ds.counts() == {"with_mask": 6, "without_mask": 6}
    assert sum("left out by the label mapping" in s for s in report.skipped) == 6


def test_folder_import_maps_classes_and_records_its_source(tmp_path: Path, workspace: Path) -> None:
    src = tmp_path / "crops"
    for label, seed in (("mask", 1), ("bare", 2), ("junk", 3)):
        (src / label).mkdir(parents=True)
        Image.fromarray(np.full((20, 20, 3), seed * 40, np.uint8)).save(src / label / f"{label}.png")
    ds = Dataset.create("crops")
    import_folder(src, ds, label_map={"mask": "with_mask", "bare": "without_mask", "junk": None})
    assert ds.counts() == {"with_mask": 1, "without_mask": 1}
    assert {r["source"] for r in load_sources(ds.root).values()} == {"folder:crops"}


def test_crops_of_one_photo_stay_on_one_side_of_the_split(tmp_path: Path, workspace: Path) -> None:
    src = voc_set(tmp_path / "voc", n_photos=12, faces=3)
    ds = Dataset.create("scenes")
    import_voc(src, ds, label_map={"mask_weared_incorrect": "with_mask"})
    manifest = split_dataset(ds, seed=1).manifest
    sources = load_sources(ds.root)
    side: dict[str, set[str]] = {}
    for f in manifest.files:
        side.setdefault(sources[f.sha256]["photo_sha256"], set()).add(f.split)
    assert all(len(s) == 1 for s in side.values())
    assert {f.split for f in manifest.files} == {"train", "val", "test"}
    seen = seen_photo_hashes(manifest.files, ds.root)
    train_photos = {sources[f.sha256]["photo_sha256"] for f in manifest.files if f.split != "test"}
    test_photos = {sources[f.sha256]["photo_sha256"] for f in manifest.files if f.split == "test"}
    assert train_photos <= seen and not (test_photos & seen)
    assert source_counts(manifest.files, ds.root) == {"voc:voc": 36}


def test_identical_crops_from_two_photos_keep_both_photos() -> None:
    records: dict = {}
    add_record(records, "c", {"photo_sha256": "p1"})
    add_record(records, "c", {"photo_sha256": "p2"})
    add_record(records, "c", {"photo_sha256": "p1"})
    assert records["c"] == {"photo_sha256": "p1", "other_photos": ["p2"]}


def test_groups_merge_transitively() -> None:
    assert merge_groups(6, [[0, 1]], [[1, 2], [4, 5]]) == [[0, 1, 2], [4, 5]]
    assert photo_groups(["a", "b", "c"], {"a": {"photo_sha256": "x"}, "c": {"photo_sha256": "x"}}) == [[0, 2]]


def test_damaged_sources_file_reads_as_empty(tmp_path: Path) -> None:
    (tmp_path / SOURCES_FILE).write_text("{not json")
    assert load_sources(tmp_path) == {}
    (tmp_path / SOURCES_FILE).write_text(json.dumps([1, 2]))
    assert load_sources(tmp_path) == {}


class ShiftedDetector:
    """Finds every face of voc_set's scenes 4 px lower than its label, and one face too many."""

    def detect(self, image):
        from core.vision.detections import Detection

        faces = image.shape[1] // 60
        out = [Detection(60 * i + 5, 13, 60 * i + 50, 64, 0.9) for i in range(faces)]
        return out + [Detection(0, 70, 20, 99, 0.5)]


def test_voc_crops_can_follow_the_detector(tmp_path: Path, workspace: Path) -> None:
    src = voc_set(tmp_path / "voc", n_photos=2, faces=2)
    truth = Dataset.create("truth")
    import_voc(src, truth)
    det = Dataset.create("det")
    import_voc(src, det, detector_crops="detector", detector=ShiftedDetector())
    both = Dataset.create("both")
    import_voc(src, both, detector_crops="both", detector=ShiftedDetector())
    assert sum(truth.counts().values()) == sum(det.counts().values()) == 4
    assert sum(both.counts().values()) == 8
    assert sorted(both.files("with_mask"))[:2] == ["with_mask/p0_1.png", "with_mask/p0_det_1.png"]
    # the detector's crops differ from the labelled ones, and still name their photo
    assert {f for f in det.all_files()} == {f for f in truth.all_files()}
    assert (det.root / "with_mask" / "p0_1.png").read_bytes() != (
        truth.root / "with_mask" / "p0_1.png"
    ).read_bytes()
    assert len({r["photo_sha256"] for r in load_sources(both.root).values()}) == 2
