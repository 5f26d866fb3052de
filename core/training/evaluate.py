"""Test-split metrics of a trained model: sklearn scores, confusion matrix, size and speed."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def score_predictions(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro/weighted F1, per-class precision/recall/F1/support and the confusion matrix
    (rows = true class, columns = predicted, in `classes` order)."""
    labels = list(range(len(classes)))
    if len(y_true) == 0:
        return {
            "test_count": 0,
            "accuracy": None,
            "macro_f1": None,
            "weighted_f1": None,
            "per_class": {},
            "confusion_matrix": [],
            "classes": list(classes),
        }
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "test_count": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, c in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": list(classes),
    }


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Total and trainable parameter counts."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {"params_total": int(model.count_params()), "params_trainable": trainable}


def predict_timed(model: keras.Model, x: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray, float]:
    """Class probabilities for `x` and the milliseconds per image of batched prediction
    (one warm-up batch excluded)."""
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32), 0.0
    model.predict(x[:batch_size].astype(np.float32), batch_size=batch_size, verbose=0)  # warm-up/trace
    start = time.perf_counter()
    probs = model.predict(x.astype(np.float32), batch_size=batch_size, verbose=0)
    return probs, (time.perf_counter() - start) * 1000.0 / len(x)


def single_image_latency_ms(model: keras.Model, image: np.ndarray, repeats: int = 5) -> float:
    """Median milliseconds to classify one image with a direct call (the Predict/Live path)."""
    batch = image[None].astype(np.float32)
    model(batch, training=False)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(batch, training=False)
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))
