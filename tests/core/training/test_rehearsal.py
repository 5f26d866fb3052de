"""Rehearsal: the starter's memory of photo faces, saved, checked and trained alongside a
warm-started run's data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.data.arrays import SplitArrays
from core.data.manifest import find_manifest
from core.runs.store import load_run
from core.training import train as training
from core.training.rehearsal import (
    MEMORY_FILE,
    PHOTO_CHECK_FILE,
    SOURCE,
    Memory,
    build_memory,
    load_memory,
    save_memory,
    with_memory,
)
from core.training.train import source_balanced_weights
from tests.models.synth import CLASSES, make_dataset_version


def memory(n: int = 6, labels: tuple[str, ...] = CLASSES, base: str = "b" * 16, size: int = 32) -> Memory:
    rng = np.random.default_rng(0)
    return Memory(rng.normal(size=(n, 4)).astype(np.float32), np.arange(n) % 2, labels, base, size)


def test_with_memory_appends_and_counts_the_memory_as_its_own_source() -> None:
    split = SplitArrays(
        np.zeros((4, 8, 8, 3), np.uint8), np.array([0, 0, 0, 1]), ["a", "b", "c", "d"], list("abcd")
    )
    sources = {k: {"source": "folder:crops"} for k in "abcd"}
    feats, merged = with_memory(np.ones((4, 4), np.float32), split, memory(2), sources)
    assert feats.shape == (6, 4) and len(merged) == 6 and list(merged.y) == [0, 0, 0, 1, 0, 1]
    assert sources[merged.keys[-1]]["source"] == SOURCE
    w = source_balanced_weights(merged, sources)
    # four cells (crops x 2 classes, memory x 2 classes) weigh the same in total
    cells = {(sources[k]["source"], int(c)) for k, c in zip(merged.keys, merged.y, strict=True)}
    totals = {c: 0.0 for c in cells}
    for k, c, wi in zip(merged.keys, merged.y, w, strict=True):
        totals[(sources[k]["source"], int(c))] += float(wi)
    assert len(totals) == 4 and np.allclose(list(totals.values()), 1.5)


def test_a_warm_started_run_rehearses_the_starters_photo_faces(
    workspace: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    version = make_dataset_version(workspace, per_split=(8, 4, 16))
    manifest, folder = find_manifest(version, workspace)
    # the "starter" run: its training files count as faces cut from photos
    records = {f.sha256: {"source": "voc:scenes", "photo": f.path} for f in manifest.files}
    (folder / ".sources.json").write_text(json.dumps(records), encoding="utf-8")
    base_cfg = {
        "model": "mobilenet_v2",
        "dataset_version": version,
        "image_size": 32,
        "epochs": 1,
        "neurons": 8,
    }
    first = load_run(training.run_here({**base_cfg, "warm_start": "none"}, workspace), workspace)
    assert first.state == "done", first.status.get("traceback")
    starter = tmp_path / "starter"
    starter.mkdir()
    shutil.copy(first.path / "best.keras", starter / "model.keras")
    (starter / "labels.txt").write_text("".join(f"{c}\n" for c in CLASSES), encoding="utf-8")
    mem = build_memory(first.run_id, workspace)
    # 16 training files and the degraded copy of each that the scene recipe trained on
    assert len(mem) == 32 and mem.image_size == 32 and mem.labels == CLASSES
    save_memory(starter / MEMORY_FILE, mem)
    (starter / "starter.json").write_text(
        json.dumps({"recipe": {"neurons": 8}, "memory": {"image_size": 32}}), encoding="utf-8"
    )
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(starter))
    (folder / ".sources.json").unlink()  # the user's own dataset: crops only
    second = load_run(training.run_here(base_cfg, workspace), workspace)
    assert second.state == "done", second.status.get("traceback")
    assert second.config["warm_start"] == "starter" and second.config["class_weight"] == "source_balanced"
    assert second.metrics["rehearsed_faces"] == 32 and second.metrics["base_weights"] == "starter"
    assert "base and head from the starter" in second.metrics["warm_start"]
    # the starter's held-out photo faces (its 32 test files) travel with the run and choose its threshold
    assert len(load_memory(second.path / PHOTO_CHECK_FILE).check_y) == 32
    from core.runs.models import classifier_for_run
    from core.runs.thresholds import PHOTO_MIN_COVERAGE, run_threshold_report

    report = run_threshold_report(
        classifier_for_run(second.run_id, workspace, backend="keras"), second.run_id, workspace
    )
    assert "held-out faces cut from photos" in report.source and report.faces == 32
    assert report.suggestion.coverage >= PHOTO_MIN_COVERAGE
    # another head width: base only, no rehearsal, and the run says so
    third = load_run(training.run_here({**base_cfg, "neurons": 4}, workspace), workspace)
    assert third.metrics["rehearsed_faces"] == 0 and "head is new" in third.metrics["warm_start"]
