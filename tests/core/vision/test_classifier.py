"""Classifier backends: the fast paths give the reference's labels, caching, fallbacks, refusals."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.errors import ClassifierError, ModelLoadError
from core.vision import classifier as clf_mod
from core.vision.classifier import (
    PROB_TOLERANCE,
    Classifier,
    compare,
    parse_labels,
    probe_images,
)
from tests.core.runs.test_active_model import LABELS

pytestmark = pytest.mark.slow

SIZE = 32


def tiny_model(seed: int = 0, classes: int = 2):
    """A LeNet at 32 px whose last layer is scaled up, so its answers are confident (no ties)."""
    import keras

    from models.lenet import make_model

    keras.utils.set_random_seed(seed)
    model = make_model((SIZE, SIZE, 3), classes, neurons=8)
    kernel, bias = model.get_layer("predictions").get_weights()
    model.get_layer("predictions").set_weights([kernel * 40.0, bias])
    return model


def crops(n: int = 16, seed: int = 1) -> np.ndarray:
    """Face-sized test inputs other than the probe batch: noise plus a bright patch."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 120, (n, SIZE, SIZE, 3), dtype=np.uint8)
    for i in range(n):
        r, c = rng.integers(0, SIZE - 10, 2)
        x[i, r : r + 10, c : c + 10] = rng.integers(150, 255)
    return x


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.mark.parametrize("backend", ["tf.function", "litert"])
def test_fast_backend_gives_the_reference_labels(model, backend: str) -> None:
    c = Classifier(model, LABELS, backend=backend)
    assert c.backend == backend
    x = crops()
    fast, ref = c.predict(x), c.predict_reference(x)
    diff, same = compare(ref, fast)
    assert diff <= PROB_TOLERANCE
    assert same
    assert (fast.argmax(1) == ref.argmax(1)).all()
    assert len(set(ref.argmax(1).tolist())) == 2  # both classes occur: the label check can fail
    assert c.check.ok and c.check.max_prob_diff <= PROB_TOLERANCE


def test_auto_takes_the_first_matching_fast_backend(model) -> None:
    c = Classifier(model, LABELS)
    assert c.backend == "litert"
    assert [ch.backend for ch in c.checks] == ["keras", "litert"]
    assert "max prob diff" in c.describe()


def test_auto_falls_back_when_litert_export_fails(model, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise ClassifierError("LiteRT conversion failed: test")

    monkeypatch.setattr(clf_mod, "export_litert", broken)
    c = Classifier(model, LABELS)
    assert c.backend == "tf.function"
    litert = next(ch for ch in c.checks if ch.backend == "litert")
    assert not litert.ok and "conversion failed" in litert.error
    with pytest.raises(ClassifierError, match="not available"):
        Classifier(model, LABELS, backend="litert")


def test_a_backend_outside_the_tolerance_is_not_chosen(model, monkeypatch: pytest.MonkeyPatch) -> None:
    real = clf_mod._LiteRTBackend.__call__

    def off(self, x: np.ndarray) -> np.ndarray:
        return real(self, x) * 0.9  # wrong by 5-10 %

    monkeypatch.setattr(clf_mod._LiteRTBackend, "__call__", off)
    c = Classifier(model, LABELS)
    assert c.backend == "tf.function"
    assert next(ch for ch in c.checks if ch.backend == "litert").max_prob_diff > PROB_TOLERANCE


def test_wrong_labels_and_inputs_are_refused(model) -> None:
    with pytest.raises(ClassifierError, match="2 outputs but 3 labels"):
        Classifier(model, ["a", "b", "c"], backend="keras")
    with pytest.raises(ClassifierError, match="distinct"):
        Classifier(model, ["a", "a"], backend="keras")
    with pytest.raises(ClassifierError, match="64 px"):
        Classifier(model, LABELS, backend="keras", image_size=64)
    with pytest.raises(ClassifierError, match="crops must be"):
        Classifier(model, LABELS, backend="keras").predict(np.zeros((1, 16, 16, 3), np.uint8))


def test_typed_labels_are_split_on_lines_and_commas() -> None:
    assert parse_labels(" with_mask\nwithout_mask, other \n") == ["with_mask", "without_mask", "other"]


def test_an_uploaded_model_with_code_is_refused(model) -> None:
    import keras

    inputs = keras.Input((SIZE, SIZE, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(
        keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    )
    lam = keras.Model(inputs, outputs)
    with pytest.raises(ModelLoadError, match="Python code"):
        Classifier.from_bytes(_saved(lam), LABELS)
    good = Classifier.from_bytes(_saved(model), LABELS, backend="keras")
    assert good.labels == LABELS
    with pytest.raises(ModelLoadError):
        Classifier.from_bytes(b"not a zip", LABELS)
    assert zipfile.is_zipfile(io.BytesIO(_saved(model)))


def _saved(model) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.keras"
        model.save(p)
        return p.read_bytes()


def test_one_classifier_serves_several_threads(model) -> None:
    c = Classifier(model, LABELS, backend="litert", measure=False)
    batches = [crops(n, seed=n) for n in (1, 2, 3, 5)]
    expected = [c.predict(b) for b in batches]
    errors: list[str] = []

    def work(k: int) -> None:
        for i in range(12):
            j = (i + k) % len(batches)
            got = c.predict(batches[j])
            if got.shape != expected[j].shape or not np.allclose(got, expected[j], atol=1e-6):
                errors.append(f"thread {k} call {i}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_probe_is_deterministic() -> None:
    a, b = probe_images(SIZE), probe_images(SIZE)
    assert a.shape == (8, SIZE, SIZE, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert len({int(img.mean()) for img in a}) > 4
