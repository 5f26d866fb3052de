"""Loading model files safely, and exporting a finished run (.keras, LiteRT .tflite, labels.txt)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ModelLoadError, TrainingError
from core.fsutil import atomic_write_bytes
from core.runs.store import load_run
from core.workspace import workspace_temp_dir

if TYPE_CHECKING:
    import keras

#: Largest model file accepted from a user.
MAX_MODEL_BYTES = 512 * 1024 * 1024


def load_model_file(path: str | Path, *, compile: bool = False) -> keras.Model:
    """Load a Keras 3 `.keras` file with safe_mode on: no Python code from the file runs.

    Raises ModelLoadError for anything else: legacy .h5/SavedModel, not a .keras archive,
    too large, damaged, or a model that needs code (Lambda layers, unknown custom objects).
    """
    import keras

    p = Path(path)
    if p.suffix.lower() != ".keras":
        raise ModelLoadError(
            f"{p.name}: only Keras 3 .keras model files are accepted (got {p.suffix or 'no suffix'})"
        )
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ModelLoadError(f"{p.name}: cannot read the file ({exc})") from exc
    if size > MAX_MODEL_BYTES:
        raise ModelLoadError(f"{p.name}: {size:,} bytes is more than the {MAX_MODEL_BYTES:,} allowed")
    if not zipfile.is_zipfile(p):
        raise ModelLoadError(f"{p.name}: not a .keras archive (damaged or another format)")
    try:
        return keras.saving.load_model(p, compile=compile, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - every failure is reported as a refusal
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text or "unsafe" in text.lower():
            raise ModelLoadError(
                f"{p.name}: refused - the model contains Python code (e.g. a Lambda layer), "
                "which is never run from an uploaded file"
            ) from exc
        raise ModelLoadError(
            f"{p.name}: cannot be loaded as a Keras model ({type(exc).__name__}: {text[:300]})"
        ) from exc


def load_model_bytes(data: bytes, name: str = "upload.keras") -> keras.Model:
    """load_model_file for uploaded bytes (written to a temporary file first)."""
    if not name.lower().endswith(".keras"):
        raise ModelLoadError(f"{name}: only Keras 3 .keras model files are accepted")
    with tempfile.TemporaryDirectory(prefix="mask-studio-upload-") as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        return load_model_file(path)


def export_run(run_id: str, root: Path | None = None, *, which: str = "best") -> dict[str, Path]:
    """Write <run>/export/{model.keras, model.tflite, labels.txt} for a finished run.

    `which` is "best" or "last". The .tflite takes float32 images (N, S, S, 3) in 0..255 and
    returns class probabilities in labels.txt order. Returns the three paths.
    """
    record = load_run(run_id, root)
    if record.state != "done":
        raise TrainingError(f"run {run_id} is {record.state}; only finished runs can be exported")
    source = record.path / ("best.keras" if which == "best" else "model.keras")
    if which not in ("best", "last") or not source.is_file():
        raise TrainingError(f"run {run_id} has no {which} model")
    model = load_model_file(source)
    out = record.path / "export"
    out.mkdir(exist_ok=True)
    paths = {"keras": out / "model.keras", "tflite": out / "model.tflite", "labels": out / "labels.txt"}
    atomic_write_bytes(paths["keras"], source.read_bytes())
    atomic_write_bytes(paths["labels"], (record.path / "labels.txt").read_bytes())
    with workspace_temp_dir(root) as tmp:  # Keras' own temporary SavedModel goes there too
        tflite = tmp / "model.tflite"
        try:
            model.export(str(tflite), format="litert", verbose=False)
        except Exception as exc:  # noqa: BLE001 - converter failures become a clear error
            raise TrainingError(f"LiteRT conversion failed: {type(exc).__name__}: {exc}") from exc
        atomic_write_bytes(paths["tflite"], tflite.read_bytes())
    return paths
