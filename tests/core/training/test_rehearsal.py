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
    SOURCE,
    Memory,
    build_memory,
    load_memory,
    misfit,
    save_memory,
    with_memory,
)
from core.training.train import source_balanced_weights
from tests.models.synth import CLASSES, make_dataset_version


def memory(n: int = 6, labels: tuple[str, ...] = CLASSES, base: str = "b" * 16, size: int = 32) -> Memory:
    rng = np.random.default_rng(0)
    return Memory(rng.normal(size=(n, 4)).astype(np.float32), np.arange(n) % 2, labels, base, size)


def test_a_memory_round_trips_as_float16(tmp_path: Path) -> None:
    m = memory()
    save_memory(tmp_path / MEMORY_FILE, m)
    back = load_memory(tmp_path / MEMORY_FILE)
    assert back is not None and back.labels == CLASSES and back.base == m.base and back.image_size == 32
    np.testing.assert_allclose(back.feats, m.feats, atol=1e-2)
    np.testing.assert_array_equal(back.y, m.y)


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_a_missing_or_damaged_memory_is_none(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / MEMORY_FILE
    if content is not None:
        path.write_bytes(content)
    assert load_memory(path) is None


def test_labels_out_of_range_make_a_memory_unusable(tmp_path: Path) -> None:
    bad = Memory(np.zeros((2, 4), np.float32), np.array([0, 5]), CLASSES, "b", 32)
    save_memory(tmp_path / MEMORY_FILE, bad)
    assert load_memory(tmp_path / MEMORY_FILE) is None


@pytest.mark.parametrize(
    ("mem", "labels", "base", "size", "fast", "words"),
    [
        (memory(), list(CLASSES), "b" * 16, 32, True, None),
        (None, list(CLASSES), "b" * 16, 32, True, "no memory"),
        (memory(), list(CLASSES), "b" * 16, 32, False, "fast path"),
        (memory(), ["dot_right", "dot_left"], "b" * 16, 32, True, "classes"),
        (memory(), list(CLASSES), "c" * 16, 32, True, "another base"),
        (memory(), list(CLASSES), "b" * 16, 64, True, "64 px"),
    ],
)
def test_misfit_says_why_a_memory_cannot_be_used(mem, labels, base, size, fast, words) -> None:  # noqa: ANN001
    why = misfit(mem, labels, base, size, fast)
    assert (why is None) if words is None else (words in why)


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
    version = make_dataset_version(workspace, per_split=(8, 4, 4))
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
    # another head width: base only, no rehearsal, and the run says so
    third = load_run(training.run_here({**base_cfg, "neurons": 4}, workspace), workspace)
    assert third.metrics["rehearsed_faces"] == 0 and "head is new" in third.metrics["warm_start"]
