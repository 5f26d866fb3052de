"""Exporting a finished run: <run>/export/{model.keras, model.tflite, labels.txt}, the LiteRT copy
checked against `model.predict` before anything is written."""

from __future__ import annotations

from pathlib import Path

from core.errors import MaskStudioError, TrainingError
from core.fsutil import atomic_write_bytes, atomic_write_text
from core.runs.models import run_labels
from core.runs.store import load_run
from core.vision.classifier import PROB_TOLERANCE, export_litert, litert_agreement
from core.vision.model_files import load_model_file


def export_run(run_id: str, root: Path | None = None, *, which: str = "best") -> dict[str, Path]:
    """Write <run>/export/{model.keras, model.tflite, labels.txt} for a finished run.

    `which` is "best" or "last". The .tflite takes float32 images (N, S, S, 3) in 0..255 and
    returns class probabilities in labels.txt order; its probabilities on the probe batch must be
    within PROB_TOLERANCE of `model.predict`, with the same labels. Every file is converted and
    checked first, then written atomically; TrainingError (nothing written) on any failure.
    Returns the three paths.
    """
    record = load_run(run_id, root)
    if record.state != "done":
        raise TrainingError(f"run {run_id} is {record.state}; only finished runs can be exported")
    if which not in ("best", "last"):
        raise TrainingError(f"which must be 'best' or 'last', got {which!r}")
    source = record.path / ("best.keras" if which == "best" else "model.keras")
    if not source.is_file():
        raise TrainingError(f"run {run_id} has no {which} model")
    try:
        model = load_model_file(source)
        labels = run_labels(record.path, record.metrics)
        keras_bytes = source.read_bytes()
        tflite = export_litert(model, root=root)
        diff, same = litert_agreement(model, tflite)
    except (MaskStudioError, OSError) as exc:
        raise TrainingError(f"run {run_id} cannot be exported: {exc}") from exc
    if diff > PROB_TOLERANCE or not same:
        raise TrainingError(
            f"run {run_id}: the LiteRT export differs from the Keras model "
            f"(max probability difference {diff:.1e}{'' if same else ', other labels'}); nothing was exported"
        )
    out = record.path / "export"
    out.mkdir(exist_ok=True)
    paths = {"keras": out / "model.keras", "tflite": out / "model.tflite", "labels": out / "labels.txt"}
    atomic_write_bytes(paths["keras"], keras_bytes)
    atomic_write_bytes(paths["tflite"], tflite)
    atomic_write_text(paths["labels"], "".join(f"{c}\n" for c in labels))
    return paths
