"""What every benchmark shares: an offline Keras cache and a workspace, set before Keras loads."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()
WEIGHTS = SHARED / "weights" / "mobilenet_v2_imagenet_no_top"
#: The real crop datasets in ../shared/data, by the key benchmarks name them with.
DATASETS = {"binary": "face_mask_binary_real", "types5": "face_mask_types_5class"}


def seed_env(tmp: Path, workspace: Path | None, *, keras_cache: bool = True) -> Path:
    """Seed KERAS_HOME from the shared weights (an empty cache when `keras_cache` is False: the
    MobileNetV2 base then comes from the shipped starter) and set the workspace; returns the
    workspace root."""
    keras_home = tmp / "keras"
    (keras_home / "models").mkdir(parents=True)
    for f in WEIGHTS.glob("*.h5") if keras_cache else ():
        os.symlink(f, keras_home / "models" / f.name)
    root = (workspace or tmp / "workspace").resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {"KERAS_HOME": str(keras_home), "MASK_STUDIO_WORKSPACE": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    return root


def prepare_dataset(root: Path, key: str) -> str:
    """Link the shared dataset into the workspace, split it, save the manifest; returns the version."""
    from core.data.manifest import Manifest, ManifestFile, save_manifest
    from core.data.split import assign_splits

    name = DATASETS[key]
    src = SHARED / name
    rows = list(csv.DictReader((src / "manifest.csv").open(encoding="utf-8")))
    folder = root / "datasets" / name
    folder.mkdir(parents=True, exist_ok=True)
    for label in sorted({r["label"] for r in rows}):
        if not (folder / label).exists():
            os.symlink(src / label, folder / label)
    group_ids: dict[str, int] = {}
    members: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        members.setdefault(group_ids.setdefault(r["group"], len(group_ids)), []).append(i)
    labels = [r["label"] for r in rows]
    splits = assign_splits(
        labels, [m for m in members.values() if len(m) > 1], {"train": 0.7, "val": 0.15, "test": 0.15}, 0
    )
    files = [
        ManifestFile(r["file"], r["label"], r["sha256"], splits[i], group_ids[r["group"]])
        for i, r in enumerate(rows)
    ]
    manifest = Manifest(dataset=name, classes=sorted(set(labels)), files=files, seed=0)
    save_manifest(manifest, root)
    return manifest.version


def default_runs(root: Path, models: tuple[str, ...], log: dict[str, Any]) -> dict[str, str]:
    """{model: run id}: a finished run of each model with its default settings on
    face_mask_binary_real in `root`, reused when there, else trained now (its wall time in `log`
    as "<model>_train_wall_s")."""
    import tensorflow as tf

    from core.data.manifest import list_versions
    from core.runs.config import RunConfig
    from core.runs.store import list_runs
    from core.training.train import run_here

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    version = dict(list_versions(root)).get("face_mask_binary_real") or prepare_dataset(root, "binary")
    done = [r for r in list_runs(root) if r.state == "done" and r.config.get("dataset_version") == version]
    out = {}
    for model in models:
        found = [r.run_id for r in done if r.config.get("model") == model]
        if found:
            out[model] = found[0]
            continue
        start = time.perf_counter()
        out[model] = run_here(RunConfig(model=model, dataset_version=version), root)
        log[f"{model}_train_wall_s"] = round(time.perf_counter() - start, 1)
    return out


def emit(result: dict[str, Any], started: float) -> int:
    """Add the total wall time (since perf_counter() was `started`) and the closing load average
    to `result`, print it as one JSON object and return 0 (the exit status)."""
    result["total_wall_s"] = round(time.perf_counter() - started, 1)
    result.setdefault("machine", {})["load_avg_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0
