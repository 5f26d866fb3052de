"""The starter model shipped with the app (models/starter/): the classifier Predict, Live and the
annotator use while the workspace has no active model, so a fresh install classifies faces.

Files: `model.keras` (loaded with safe_mode), `labels.txt`, `card.md` (data, recipe, figures,
limits) and `starter.json` (machine-readable: measured metrics, suggested threshold, and the
sha256 of every photo it was trained on, for the scene test's leak check). The LiteRT copy is
exported on first use into `<workspace>/cache/starter/` and checked against `model.predict`
like any run's. `MASK_STUDIO_STARTER_DIR` points elsewhere (tests, a user's own default).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ClassifierError
from core.workspace import workspace_root

STARTER_ID = "starter"
ENV_VAR = "MASK_STUDIO_STARTER_DIR"
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
INFO_FILE = "starter.json"
CARD_FILE = "card.md"
#: The starter's faces from photos as base features, rehearsed by warm-started runs (core.training.rehearsal).
MEMORY_FILE = "memory.npz"
#: What the pages say while the starter model classifies faces.
STARTER_NOTE = "Starter model — train your own on the Experiments page."
#: The threshold used when starter.json names none.
FALLBACK_THRESHOLD = 0.6


def starter_dir() -> Path:
    """models/starter beside this package, or MASK_STUDIO_STARTER_DIR."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "models" / "starter"


@dataclass(frozen=True)
class StarterStatus:
    """Whether the starter model can be used, and why not."""

    available: bool
    reason: str | None = None
    path: Path | None = None


def _labels(folder: Path) -> list[str]:
    try:
        text = (folder / LABELS_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassifierError(f"the starter model has no readable {LABELS_FILE} ({exc})") from exc
    labels = [v.strip() for v in text.splitlines() if v.strip()]
    if len(labels) < 2:
        raise ClassifierError(f"the starter model's {LABELS_FILE} names fewer than two classes")
    return labels


def starter_status() -> StarterStatus:
    """Checked now: the model file exists and is not empty, and labels.txt names the classes.
    (Whether the file loads is only known when starter_classifier loads it.)"""
    folder = starter_dir()
    model = folder / MODEL_FILE
    if not model.is_file() or model.stat().st_size == 0:
        return StarterStatus(False, f"the starter model file {model} is missing", folder)
    try:
        _labels(folder)
    except ClassifierError as exc:
        return StarterStatus(False, str(exc), folder)
    return StarterStatus(True, None, folder)


def starter_info() -> dict[str, Any]:
    """starter.json as a dict ({} when missing or damaged: the figures are then unknown)."""
    try:
        data = json.loads((starter_dir() / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def starter_threshold() -> float:
    """The starter's suggested threshold (from its test split, in starter.json)."""
    value = starter_info().get("threshold")
    return float(value) if isinstance(value, (int, float)) and 0.0 <= value <= 1.0 else FALLBACK_THRESHOLD


def starter_threshold_source() -> str:
    """What the starter's threshold was chosen on, in plain words (starter.json)."""
    value = starter_info().get("threshold_chosen_on")
    return str(value) if isinstance(value, str) and value else "its own test split"


def starter_labels() -> list[str]:
    return _labels(starter_dir())


def trained_photo_hashes() -> set[str]:
    """sha256 of every photo (scene or crop file) the starter was trained or validated on."""
    values = starter_info().get("trained_photo_sha256") or []
    return {str(v) for v in values if isinstance(v, str)}


def model_digest(path: Path | None = None) -> str:
    """First 16 hex digits of the model file's sha256 (names its LiteRT cache)."""
    p = path or starter_dir() / MODEL_FILE
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def starter_classifier(backend: str = "auto", root: Path | None = None):  # -> Classifier
    """The starter's Classifier (safe_mode load; LiteRT cached in the workspace). ClassifierError
    with the reason when the files are missing or corrupt."""
    from core.errors import MaskStudioError
    from core.vision.classifier import Classifier
    from core.vision.model_files import load_model_file

    status = starter_status()
    if not status.available:
        raise ClassifierError(status.reason or "the starter model is not available")
    folder = starter_dir()
    path = folder / MODEL_FILE
    labels = _labels(folder)
    try:
        model = load_model_file(path)
    except MaskStudioError as exc:
        raise ClassifierError(f"the starter model cannot be loaded: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a damaged file may fail anywhere inside Keras
        raise ClassifierError(f"the starter model cannot be loaded: {type(exc).__name__}: {exc}") from exc
    cache = (root or workspace_root()) / "cache" / "starter" / f"{model_digest(path)}.tflite"
    return Classifier(model, labels, backend=backend, name="starter model", source=path, tflite_cache=cache)
