"""core.training.evaluate: test-split scores (checked by hand), parameter counts, timed prediction."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from core.training.evaluate import (
    parameter_counts,
    predict_timed,
    score_predictions,
    single_image_latency_ms,
)

CLASSES = ["mask", "nomask", "partial"]


def test_scores_match_a_hand_count() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    s = score_predictions(y_true, y_pred, CLASSES)
    assert s["test_count"] == 6 and s["classes"] == CLASSES
    assert s["accuracy"] == pytest.approx(4 / 6)
    # rows = true class, columns = predicted
    assert s["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    mask = s["per_class"]["mask"]
    assert mask == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    nomask = s["per_class"]["nomask"]
    assert nomask == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    # a class never predicted scores 0, without a warning or NaN
    assert s["per_class"]["partial"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert s["weighted_f1"] == pytest.approx((3 * 2 / 3 + 2 * 0.8 + 0) / 6)


def test_a_class_absent_from_the_test_split_keeps_its_row() -> None:
    s = score_predictions(np.array([0, 1, 0]), np.array([0, 1, 0]), CLASSES)
    assert s["accuracy"] == 1.0
    assert s["confusion_matrix"] == [[2, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert s["per_class"]["partial"]["support"] == 0
    assert list(s["per_class"]) == CLASSES


def test_scores_are_plain_json_types() -> None:
    s = score_predictions(np.array([0, 1]), np.array([1, 1]), CLASSES[:2])
    assert json.loads(json.dumps(s)) == s


def test_an_empty_test_split_has_no_scores() -> None:
    s = score_predictions(np.array([], int), np.array([], int), CLASSES)
    assert s["test_count"] == 0 and s["classes"] == CLASSES
    assert [s[k] for k in ("accuracy", "macro_f1", "weighted_f1")] == [None, None, None]
    assert s["per_class"] == {} and s["confusion_matrix"] == []
    assert s["classes"] is not CLASSES, "a copy: the caller's list stays its own"


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    m = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]
    )
    return m


def test_parameter_counts_split_trainable_and_frozen(model: keras.Model) -> None:
    assert parameter_counts(model) == {"params_total": 48 * 3 + 3, "params_trainable": 48 * 3 + 3}
    frozen = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    frozen.layers[0].trainable = False
    assert parameter_counts(frozen) == {"params_total": 12 + 10, "params_trainable": 10}


def test_predict_timed_gives_probabilities_and_a_time(model: keras.Model) -> None:
    x = np.random.default_rng(0).integers(0, 255, (5, 4, 4, 3), dtype=np.uint8)
    probs, ms = predict_timed(model, x, batch_size=2)
    assert probs.shape == (5, 3) and ms > 0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, model.predict(x.astype(np.float32), verbose=0), rtol=1e-5)


def test_predict_timed_on_nothing(model: keras.Model) -> None:
    probs, ms = predict_timed(model, np.zeros((0, 4, 4, 3), np.uint8))
    assert probs.shape == (0, 3) and probs.dtype == np.float32 and ms == 0.0


def test_single_image_latency_is_a_positive_median(model: keras.Model) -> None:
    ms = single_image_latency_ms(model, np.zeros((4, 4, 3), np.uint8), repeats=3)
    assert isinstance(ms, float) and 0 < ms < 10_000
