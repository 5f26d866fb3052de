"""The starter model shipped with the app (models/starter/): the classifier Predict, Live and the
annotator use while the workspace has no active model, so a fresh install classifies faces.

Files: `model.keras` (loaded with safe_mode), `labels.txt`, `card.md` (data, recipe, figures,
limits) and `starter.json` (machine-readable: measured metrics, suggested threshold, and the
sha256 of every photo it was trained on, for the scene test's leak check). Its LiteRT copy,
`model.tflite`, ships beside it (written by the build with `ship_litert`); starter.json's
"litert" entry records the sha256 of both files, so a copy made from another model.keras is
never used. On first use the shipped copy (or, when it is absent or stale, a fresh export) goes
into `<workspace>/cache/starter/` and is checked against `model.predict` like any run's.
`MASK_STUDIO_STARTER_DIR` points elsewhere (tests, a user's own default).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.data.provenance import sha256_bytes, sha256_file
from core.errors import ClassifierError
from core.workspace import workspace_root

if TYPE_CHECKING:  # loaded with TensorFlow, only when a classifier is made
    from core.vision.classifier import Classifier

STARTER_ID = "starter"
ENV_VAR = "MASK_STUDIO_STARTER_DIR"
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
INFO_FILE = "starter.json"
CARD_FILE = "card.md"
#: The LiteRT copy shipped beside model.keras (saves the ~1 minute export of a first Predict).
LITERT_FILE = "model.tflite"
#: starter.json's key for {"file", "keras_sha256", "sha256"} of the shipped LiteRT copy.
LITERT_KEY = "litert"
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
    return sha256_file(path or starter_dir() / MODEL_FILE)[:16]


def shipped_litert(folder: Path | None = None, keras_sha256: str | None = None) -> bytes | None:
    """The shipped LiteRT copy's bytes when starter.json vouches for it: its record names the
    sha256 of this very model.keras and of this model.tflite. None when absent or stale."""
    folder = folder or starter_dir()
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        record = info.get(LITERT_KEY) if isinstance(info, dict) else None
        if not isinstance(record, dict) or record.get("file") != LITERT_FILE:
            return None
        keras_sha = keras_sha256 or sha256_file(folder / MODEL_FILE)
        if record.get("keras_sha256") != keras_sha:
            return None
        content = (folder / LITERT_FILE).read_bytes()
    except (OSError, ValueError):
        return None
    if not content or sha256_bytes(content) != record.get("sha256"):
        return None
    return content


def ship_litert(folder: Path, root: Path | None = None) -> dict[str, str]:
    """Export `folder`'s model.keras to LiteRT with the product's own exporter (the one a first
    Predict would run), write it as model.tflite and return starter.json's record of it. The
    caller stores the record under LITERT_KEY. ClassifierError when the export fails."""
    from core.fsutil import atomic_write_bytes
    from core.vision.classifier import export_litert
    from core.vision.model_files import load_model_file

    keras_path = folder / MODEL_FILE
    content = export_litert(load_model_file(keras_path), root=root)
    atomic_write_bytes(folder / LITERT_FILE, content)
    return {
        "file": LITERT_FILE,
        "keras_sha256": sha256_file(keras_path),
        "sha256": sha256_bytes(content),
    }


def _seed_litert_cache(folder: Path, keras_sha256: str, cache: Path) -> None:
    """Put the shipped LiteRT copy in the workspace cache, unless one is there already."""
    from core.fsutil import atomic_write_bytes

    if cache.is_file() and cache.stat().st_size > 0:
        return
    content = shipped_litert(folder, keras_sha256)
    if content is None:
        return  # absent or stale: the Classifier exports it as before
    try:
        atomic_write_bytes(cache, content)
    except OSError:
        pass  # an unwritable workspace only costs the export


def starter_classifier(backend: str = "auto", root: Path | None = None) -> Classifier:
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
    except Exception as exc:
        raise ClassifierError(f"the starter model cannot be loaded: {type(exc).__name__}: {exc}") from exc
    keras_sha = sha256_file(path)
    cache = (root or workspace_root()) / "cache" / "starter" / f"{keras_sha[:16]}.tflite"
    _seed_litert_cache(folder, keras_sha, cache)
    return Classifier(model, labels, backend=backend, name="starter model", source=path, tflite_cache=cache)
