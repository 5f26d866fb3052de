"""Face-crop classifiers: a trained Keras model run on one of several backends.

    keras        the reference: `model.predict` (slow: a fixed overhead per call)
    tf.function  the model traced once with a (None, S, S, 3) signature
    litert       the model exported once to LiteRT (.tflite) and run by
                 `ai_edge_litert.interpreter.Interpreter(num_threads=2)`; the export is cached in
                 the run folder (`best.tflite` beside `best.keras`, written atomically)
    litert-int8  the same with dynamic-range int8 weights (never chosen automatically: not
                 faster than fp32 under XNNPACK and further from the reference)

`backend="auto"` takes the first backend of FAST_ORDER whose probabilities on a probe batch stay
within PROB_TOLERANCE of the reference and give the same labels; a backend that fails to build
(e.g. a LiteRT conversion error) is skipped. Every check is kept in `Classifier.checks`.
Inputs are raw 0-255 RGB crops (N, S, S, 3): scaling is inside the models. Calls are serialised
by a lock, so one Classifier can serve a video thread and the page at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ClassifierError, MaskStudioError
from core.fsutil import atomic_write_bytes
from core.vision.model_files import load_model_bytes, load_model_file
from core.workspace import workspace_temp_dir

if TYPE_CHECKING:
    import keras

REFERENCE = "keras"
BACKENDS = ("keras", "tf.function", "litert", "litert-int8")
AUTO = "auto"
#: Candidates for "auto", fastest first (benchmarks/predict.py measures them).
FAST_ORDER = ("litert", "tf.function")
#: Largest |p_backend - p_reference| on the probe batch for a backend to replace the reference:
#: LiteRT fp32 passes, dynamic-range int8 does not.
PROB_TOLERANCE = 1e-3
#: Threads for LiteRT (and what the benchmark gives TensorFlow).
NUM_THREADS = 2
PROBE_SIZE = 8


@dataclass(frozen=True)
class BackendCheck:
    """How one backend compared with the reference on the probe batch."""

    backend: str
    ok: bool
    max_prob_diff: float | None = None
    same_labels: bool | None = None
    ms_per_image: float | None = None  # batch 1, median of a few calls
    error: str | None = None

    def describe(self) -> str:
        """One line for the UI."""
        if self.error:
            return f"{self.backend}: unavailable ({self.error})"
        diff = "" if self.max_prob_diff is None else f", max prob diff {self.max_prob_diff:.1e}"
        ms = (
            ""
            if self.ms_per_image is None
            else f"{self.ms_per_image:.{1 if self.ms_per_image >= 1 else 3}f} ms/face"
        )
        labels = (
            "" if self.same_labels is None else (", same labels" if self.same_labels else ", labels differ")
        )
        return f"{self.backend}: {ms}{diff}{labels}"


def probe_images(size: int, n: int = PROBE_SIZE, seed: int = 0) -> np.ndarray:
    """A deterministic probe batch (n, size, size, 3) uint8: smooth colour fields, one flat grey."""
    import cv2

    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        coarse = rng.integers(0, 256, (4 + i, 4 + i, 3)).astype(np.float32)
        out[i] = np.clip(cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC), 0, 255)
    out[-1] = 128
    return out


def compare(
    reference: np.ndarray, probs: np.ndarray, tolerance: float = PROB_TOLERANCE
) -> tuple[float, bool]:
    """(max |difference|, same labels): labels are compared where the reference is no near-tie."""
    reference, probs = np.asarray(reference, np.float64), np.asarray(probs, np.float64)
    if reference.shape != probs.shape:
        raise ClassifierError(f"backend output shape {probs.shape} differs from {reference.shape}")
    if reference.size == 0:
        return 0.0, True
    diff = float(np.abs(reference - probs).max())
    top2 = np.sort(reference, axis=1)[:, -2:] if reference.shape[1] > 1 else np.hstack([reference, reference])
    clear = (top2[:, 1] - top2[:, 0]) > 2 * tolerance
    same = bool((reference.argmax(1) == probs.argmax(1))[clear].all())
    return diff, same


# ----- backends -----------------------------------------------------------------------------
class _KerasBackend:
    """The reference: `model.predict`, one batch per call."""

    def __init__(self, model: keras.Model) -> None:
        self._model = model

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.predict(x, batch_size=max(1, len(x)), verbose=0), np.float32)


class _TFFunctionBackend:
    """The model traced once by tf.function for any batch size."""

    def __init__(self, model: keras.Model, size: int) -> None:
        import tensorflow as tf

        spec = tf.TensorSpec([None, size, size, 3], tf.float32)
        self._fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        self._fn.get_concrete_function()  # trace now, not on the first face

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._fn(x), np.float32)


class _LiteRTBackend:
    """A LiteRT interpreter; the input tensor is resized when the batch size changes."""

    def __init__(self, content: bytes, size: int, num_threads: int = NUM_THREADS) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._content = content  # the interpreter reads from this buffer: keep it alive
        self._it = Interpreter(model_content=content, num_threads=num_threads)
        inputs, outputs = self._it.get_input_details(), self._it.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ClassifierError(
                f"a LiteRT model with one input and one output was expected, got {len(inputs)}"
            )
        shape = tuple(int(v) for v in inputs[0]["shape"])
        if shape[1:] != (size, size, 3) or inputs[0]["dtype"] != np.float32:
            raise ClassifierError(
                f"LiteRT input is {shape} {inputs[0]['dtype']}, expected (N, {size}, {size}, 3)"
            )
        self._in, self._out = inputs[0]["index"], outputs[0]["index"]
        self._batch = shape[0]
        self._it.allocate_tensors()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) != self._batch:
            self._it.resize_tensor_input(self._in, list(x.shape))
            self._it.allocate_tensors()
            self._batch = len(x)
        self._it.set_tensor(self._in, np.ascontiguousarray(x, np.float32))
        self._it.invoke()
        return np.array(self._it.get_tensor(self._out), np.float32)


def export_litert(model: keras.Model, *, int8: bool = False, root: Path | None = None) -> bytes:
    """The model converted to LiteRT (fp32, or dynamic-range int8 weights); ClassifierError on failure.

    Keras' temporary files go to a temporary folder of workspace `root` (default: the workspace).
    """
    options: dict[str, Any] = {}
    if int8:
        import tensorflow as tf

        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    with workspace_temp_dir(root) as tmp:  # Keras' own temporary SavedModel goes there too
        path = tmp / "model.tflite"
        try:
            model.export(str(path), format="litert", verbose=False, **options)
            return path.read_bytes()
        except Exception as exc:
            raise ClassifierError(f"LiteRT conversion failed: {type(exc).__name__}: {exc}") from exc


def litert_agreement(
    model: keras.Model, content: bytes, probe: np.ndarray | None = None
) -> tuple[float, bool]:
    """(max |p_litert - p_keras|, same labels) of LiteRT `content` against `model.predict` on the
    probe batch (`probe_images` by default); ClassifierError when LiteRT cannot run it."""
    size = _input_size(model, None)
    x = probe_images(size) if probe is None else _as_batch(probe, size)
    try:
        probs = _LiteRTBackend(content, size)(x)
    except (ValueError, RuntimeError) as exc:
        raise ClassifierError(f"LiteRT cannot run the exported model: {exc}") from exc
    return compare(_KerasBackend(model)(x), probs)


def _cached_litert(model: keras.Model, source: Path | None, cache: Path | None, int8: bool) -> bytes:
    """The LiteRT bytes from `cache` when it is newer than `source`, else exported (and cached)."""
    if cache is not None and source is not None and cache.is_file():
        try:
            if cache.stat().st_mtime >= source.stat().st_mtime and cache.stat().st_size > 0:
                return cache.read_bytes()
        except OSError:
            pass
    content = export_litert(model, int8=int8)
    if cache is not None:
        try:
            atomic_write_bytes(cache, content)
        except OSError:
            pass  # a read-only run folder only costs a re-export next time
    return content


def _median_ms(fn: Callable[[], Any], repeats: int = 3) -> float:
    fn()  # warm-up (allocations, first-call costs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


# ----- the classifier -----------------------------------------------------------------------
class Classifier:
    """A Keras face classifier with a fast backend checked against `model.predict`.

    `model` takes (N, S, S, 3) float RGB in 0..255 and returns N rows of class probabilities in
    `labels` order. `backend` is "auto" or one of BACKENDS. `source` and `tflite_cache` name the
    .keras file and where its LiteRT export is cached (None: exported in memory each time).
    """

    def __init__(
        self,
        model: keras.Model,
        labels: Sequence[str],
        *,
        backend: str = AUTO,
        image_size: int | None = None,
        name: str = "",
        source: Path | None = None,
        tflite_cache: Path | None = None,
        probe: np.ndarray | None = None,
        measure: bool = True,
    ) -> None:
        if backend != AUTO and backend not in BACKENDS:
            raise ClassifierError(f"unknown backend {backend!r}; choose auto or one of {', '.join(BACKENDS)}")
        self.model = model
        self.labels = tuple(str(v) for v in labels)
        self.image_size = _input_size(model, image_size)
        self.name = name or getattr(model, "name", "model")
        self._check_labels()
        self._source, self._tflite_cache = source, tflite_cache
        self._lock = threading.Lock()
        self._reference = _KerasBackend(model)
        probe = probe_images(self.image_size) if probe is None else _as_batch(probe, self.image_size)
        ref_probs = self._reference(probe)
        ref_ms = _median_ms(lambda: self._reference(probe[:1]), 2) if measure else None
        checks = [BackendCheck(REFERENCE, True, 0.0, True, ref_ms)]
        candidates = FAST_ORDER if backend == AUTO else ((backend,) if backend != REFERENCE else ())
        self._run: Callable[[np.ndarray], np.ndarray] = self._reference
        self.backend = REFERENCE
        for name_ in candidates:
            check, runner = self._try_backend(name_, probe, ref_probs, measure)
            checks.append(check)
            if runner is not None and (check.ok or backend != AUTO):
                self._run, self.backend = runner, name_
                break
        if backend not in (AUTO, self.backend):
            failed = checks[-1]
            raise ClassifierError(f"backend {backend} is not available: {failed.error}")
        self.checks = tuple(checks)

    # ----- construction helpers -----------------------------------------------------------
    def _check_labels(self) -> None:
        out = self.model.output_shape
        classes = out[-1] if isinstance(out, tuple) else None
        if not self.labels or len(set(self.labels)) != len(self.labels) or any(not v for v in self.labels):
            raise ClassifierError(f"the class labels must be distinct and not empty, got {list(self.labels)}")
        if classes is not None and classes != len(self.labels):
            raise ClassifierError(f"the model has {classes} outputs but {len(self.labels)} labels were given")

    def _build(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        if name == "tf.function":
            return _TFFunctionBackend(self.model, self.image_size)
        if name in ("litert", "litert-int8"):
            int8 = name == "litert-int8"
            cache = self._tflite_cache
            if cache is not None and int8:
                cache = cache.with_name(cache.stem + "-int8.tflite")
            content = _cached_litert(self.model, self._source, cache, int8)
            try:
                return _LiteRTBackend(content, self.image_size)
            except (ValueError, RuntimeError) as exc:
                raise ClassifierError(f"LiteRT cannot run the exported model: {exc}") from exc
        raise ClassifierError(f"unknown backend {name!r}")

    def _try_backend(
        self, name: str, probe: np.ndarray, ref_probs: np.ndarray, measure: bool
    ) -> tuple[BackendCheck, Callable[[np.ndarray], np.ndarray] | None]:
        try:
            runner = self._build(name)
            probs = runner(probe)
            diff, same = compare(ref_probs, probs)
            ms = _median_ms(lambda: runner(probe[:1])) if measure else None
        except (MaskStudioError, ValueError, RuntimeError, ImportError) as exc:
            return BackendCheck(name, False, error=str(exc)[:300]), None
        return BackendCheck(name, diff <= PROB_TOLERANCE and same, diff, same, ms), runner

    # ----- use ----------------------------------------------------------------------------
    @property
    def check(self) -> BackendCheck:
        """The check of the backend in use."""
        return next(c for c in reversed(self.checks) if c.backend == self.backend)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C) float32 for crops (N, S, S, 3), on the chosen backend."""
        x = _as_batch(images, self.image_size)
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        with self._lock:
            return self._run(x)

    def predict_reference(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities from the reference path (`model.predict`)."""
        x = _as_batch(images, self.image_size)
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        with self._lock:
            return self._reference(x)

    def describe(self) -> str:
        """One line: model, input size, classes and backend."""
        return f"{self.name} ({self.image_size} px; {', '.join(self.labels)}) on {self.check.describe()}"

    # ----- loading ------------------------------------------------------------------------
    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], labels: Sequence[str], *, backend: str = AUTO, name: str = ""
    ) -> Classifier:
        """A classifier from a .keras file (loaded with safe_mode: files holding code are refused)."""
        p = Path(path)
        return cls(load_model_file(p), labels, backend=backend, name=name or p.name)

    @classmethod
    def from_bytes(
        cls, data: bytes, labels: Sequence[str], *, name: str = "upload.keras", backend: str = AUTO
    ) -> Classifier:
        """A classifier from uploaded .keras bytes (safe_mode; the LiteRT export stays in memory)."""
        return cls(load_model_bytes(data, name), labels, backend=backend, name=name)


def parse_labels(text: str) -> list[str]:
    """Labels typed by a user: one per line (or comma-separated), blanks dropped."""
    parts = text.replace(",", "\n").splitlines()
    return [p.strip() for p in parts if p.strip()]


def _input_size(model: keras.Model, wanted: int | None) -> int:
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4 or shape[3] != 3:
        raise ClassifierError(f"a classifier needs one (N, S, S, 3) image input, got {model.input_shape}")
    h, w = shape[1], shape[2]
    if h is not None and w is not None and h != w:
        raise ClassifierError(f"the model input must be square, got {w}x{h}")
    size = h or w or wanted
    if size is None:
        raise ClassifierError("the model input size is not fixed; give image_size")
    if wanted is not None and int(wanted) != int(size):
        raise ClassifierError(f"the run config says {wanted} px but the model takes {size} px")
    return int(size)


def _as_batch(images: np.ndarray, size: int) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1:] != (size, size, 3):
        raise ClassifierError(f"crops must be (N, {size}, {size}, 3), got {x.shape}")
    return x.astype(np.float32, copy=False)
