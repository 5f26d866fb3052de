"""A finished run's model: its file (best.keras, else model.keras), its class labels, and the
`core.vision.classifier.Classifier` built from them with the LiteRT export cached beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ClassifierError, TrainingError
from core.runs.store import load_run
from core.vision.classifier import AUTO, Classifier
from core.vision.model_files import load_model_file


def run_model_path(run_dir: Path) -> Path:
    """best.keras of a run folder, else model.keras; ClassifierError when neither exists."""
    for name in ("best.keras", "model.keras"):
        if (run_dir / name).is_file():
            return run_dir / name
    raise ClassifierError(f"run {run_dir.name} has no model file (best.keras or model.keras)")


def run_labels(run_dir: Path, metrics: dict[str, Any] | None = None) -> list[str]:
    """Class names of a run: labels.txt, else metrics.json's "classes"."""
    try:
        labels = [v.strip() for v in (run_dir / "labels.txt").read_text(encoding="utf-8").splitlines()]
        labels = [v for v in labels if v]
    except OSError:
        labels = []
    except UnicodeDecodeError as exc:
        raise ClassifierError(f"run {run_dir.name}: labels.txt is not UTF-8 text ({exc.reason})") from exc
    if not labels and metrics:
        labels = [str(v) for v in metrics.get("classes") or []]
    if not labels:
        raise ClassifierError(f"run {run_dir.name} has no labels.txt and no classes in metrics.json")
    return labels


def classifier_for_run(
    run_id: str, root: Path | None = None, *, backend: str = AUTO, probe: np.ndarray | None = None
) -> Classifier:
    """The classifier of a finished run: best.keras (else model.keras), labels.txt, image_size;
    its LiteRT export is cached as <model>.tflite in the run folder. ClassifierError otherwise."""
    try:
        record = load_run(run_id, root)
    except TrainingError as exc:
        raise ClassifierError(str(exc)) from exc
    if record.state != "done":
        raise ClassifierError(f"run {run_id} is {record.state}; only finished runs can classify faces")
    path = run_model_path(record.path)
    labels = run_labels(record.path, record.metrics)
    size = record.config.get("image_size")
    return Classifier(
        load_model_file(path),
        labels,
        backend=backend,
        image_size=int(size) if isinstance(size, int) else None,
        name=f"run {run_id}",
        source=path,
        tflite_cache=path.with_suffix(".tflite"),
        probe=probe,
    )
