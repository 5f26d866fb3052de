"""A real but tiny Keras model (32 px LeNet, two classes) for page and browser tests: its
.keras and LiteRT bytes, and a finished, active run holding it."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from core.runs.active_model import set_active
from core.runs.store import run_path
from core.vision.classifier import export_litert
from tests.core.runs.test_active_model import LABELS, make_run
from tests.disk_cache import cached_blobs, content_key

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def tiny_lenet_files(seed: int = 0, confidence: float = 1.0) -> tuple[bytes, bytes]:
    """(.keras bytes, .tflite bytes) of a 32 px two-class LeNet; `confidence` scales the output
    layer's kernel (40: probabilities near 0 and 1). Made once per test run for each
    (seed, confidence) and shared by the xdist workers (tests.disk_cache)."""
    key = content_key("tiny_lenet", seed, confidence, files=[Path(__file__), REPO / "models" / "lenet.py"])
    keras_bytes, tflite = cached_blobs(key, 2, lambda: _make_tiny_lenet(seed, confidence))
    return keras_bytes, tflite


def _make_tiny_lenet(seed: int, confidence: float) -> tuple[bytes, bytes]:
    import keras

    from models.lenet import make_model

    keras.utils.set_random_seed(seed)
    model = make_model((32, 32, 3), 2, neurons=8)
    if confidence != 1.0:
        kernel, bias = model.get_layer("predictions").get_weights()
        model.get_layer("predictions").set_weights([kernel * confidence, bias])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.keras"
        model.save(path)
        return path.read_bytes(), export_litert(model)


def confident_tiny_run(root: Path) -> str:
    """A finished run in workspace `root` holding a confident tiny LeNet and its LiteRT copy
    (LABELS), made the active model."""
    keras_bytes, tflite = tiny_lenet_files(seed=1, confidence=40.0)
    run_id = make_run(root, model=keras_bytes, labels=LABELS, image_size=32)
    (run_path(run_id, root) / "best.tflite").write_bytes(tflite)
    set_active(run_id, root)
    return run_id
