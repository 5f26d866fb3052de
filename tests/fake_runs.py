"""A small fake run store (no TensorFlow): finished, running, failed and queued runs."""

from __future__ import annotations

from typing import Any

from core.data.manifest import Manifest, ManifestFile, save_manifest
from core.fsutil import atomic_write_json
from core.runs.store import create_run, run_path, write_history, write_status


def make_manifest(n_per_class: int = 10) -> str:
    """A saved manifest (files need not exist for the page); returns its version id."""
    files = []
    for label in ("with_mask", "without_mask"):
        for i in range(n_per_class):
            split = "train" if i < n_per_class * 0.7 else ("val" if i < n_per_class * 0.85 else "test")
            files.append(ManifestFile(f"{label}/{i}.png", label, f"{label}{i:060d}"[:64], split, i))
    m = Manifest("demo", ["with_mask", "without_mask"], files, seed=1)
    save_manifest(m)
    return m.version


def finished_run(version: str, model: str, batch_size: int, acc: float, **config: Any) -> str:
    cfg = {
        "model": model,
        "dataset_version": version,
        "batch_size": batch_size,
        "image_size": 96,
        "epochs": 2,
    }
    cfg.update(config)
    run_id = create_run(cfg)
    path = run_path(run_id)
    write_status(
        path, state="done", started_at="2026-11-22T10:00:00+00:00", finished_at="2026-11-22T10:01:00+00:00"
    )
    write_history(
        path,
        [
            {
                "epoch": 1,
                "phase": "train",
                "loss": 0.7,
                "accuracy": 0.6,
                "val_loss": 0.65,
                "val_accuracy": acc - 0.1,
            },
            {
                "epoch": 2,
                "phase": "train",
                "loss": 0.4,
                "accuracy": 0.8,
                "val_loss": 0.45,
                "val_accuracy": acc,
            },
        ],
    )
    (path / "labels.txt").write_text("with_mask\nwithout_mask\n")
    (path / "best.keras").write_bytes(b"not a real model: the page never loads it")
    atomic_write_json(
        path / "metrics.json",
        {
            "accuracy": acc,
            "macro_f1": acc - 0.01,
            "best_val_accuracy": acc,
            "classes": ["with_mask", "without_mask"],
            "confusion_matrix": [[3, 0], [1, 2]],
            "per_class": {
                "with_mask": {"precision": 0.75, "recall": 1.0, "f1": 0.86, "support": 3},
                "without_mask": {"precision": 1.0, "recall": 0.67, "f1": 0.8, "support": 3},
            },
            "params_total": 1234,
            "train_seconds": 28.0,
            "feature_seconds": 0.0,
            "epochs_run": 2,
            "fast_path": False,
            "total_seconds": 31.0,
            "inference_ms_per_image": 1.5,
            "latency_ms_single": 4.0,
            "train_count": 14,
        },
    )
    return run_id


def running_run(version: str, pid: int) -> str:
    run_id = create_run(
        {"model": "lenet", "dataset_version": version, "epochs": 4, "batch_size": 8, "image_size": 96}
    )
    path = run_path(run_id)
    write_status(path, state="running", started_at="2026-11-22T10:00:00+00:00", pid=pid)
    atomic_write_json(
        path / "progress.json",
        {"phase": "train", "epoch": 2, "epochs": 4, "batch": 1, "batches": 2, "loss": 0.5, "accuracy": 0.75},
    )
    return run_id


def failed_run(version: str) -> str:
    run_id = create_run({"model": "small_vgg", "dataset_version": version})
    write_status(run_path(run_id), state="failed", error="Traceback ...\nValueError: boom")
    return run_id
