"""Loading Keras 3 `.keras` model files safely: safe_mode on, a size limit, typed refusals."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ModelLoadError

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
    except Exception as exc:
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
