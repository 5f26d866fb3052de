"""metrics.json checked before Compare shows it: the worker's shape passes, anything else is named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from core.runs.metrics import checked_record, metrics_problem
from core.runs.store import RunRecord

#: What core.training.evaluate.score_predictions and train write (its shape, without TensorFlow).
GOOD: dict[str, Any] = {
    "test_count": 4,
    "accuracy": 0.75,
    "macro_f1": 0.73,
    "weighted_f1": 0.73,
    "per_class": {
        "with_mask": {"precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 2},
        "without_mask": {"precision": 0.67, "recall": 1.0, "f1": 0.8, "support": 2},
    },
    "confusion_matrix": [[1, 1], [0, 2]],
    "classes": ["with_mask", "without_mask"],
    "best_val_accuracy": 0.8,
    "params_total": 1234,
    "train_seconds": 2.5,
    "epochs_run": 2,
    "fast_path": False,
    "latency_ms_single": None,
}


def _with(path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(GOOD)
    node = out
    *parents, last = path.split("/")
    for p in parents:
        node = node[p]
    node[last] = value
    return out


def test_what_the_worker_writes_passes() -> None:
    assert metrics_problem(GOOD) is None
    empty_test = {
        "test_count": 0,
        "accuracy": None,
        "per_class": {},
        "confusion_matrix": [],
        "classes": ["a", "b"],
    }
    assert metrics_problem(empty_test) is None
    assert metrics_problem({}) is None


@pytest.mark.parametrize(
    ("metrics", "words"),
    [
        ("oops", "not a JSON object but str"),
        ([1, 2], "not a JSON object but list"),
        (_with("accuracy", "high"), "accuracy is 'high'"),
        (_with("accuracy", 1.5), "outside 0..1"),
        (_with("macro_f1", True), "macro_f1 is True"),
        (_with("params_total", -3), "params_total is -3"),
        (_with("train_seconds", float("nan")), "train_seconds is nan"),
        (_with("fast_path", "no"), "fast_path is 'no'"),
        (_with("classes", 3), "classes is not a list of names"),
        (_with("confusion_matrix", "x"), "not a list of rows"),
        (_with("confusion_matrix", [[1, 2, 3], [1, 2, 3]]), "not 2 × 2"),
        (_with("confusion_matrix", [[1, "a"], [0, 1]]), "other than counts"),
        (_with("per_class", "x"), "per_class is not an object"),
        (_with("per_class/with_mask", "x"), "per_class['with_mask'] is not an object"),
        (_with("per_class/with_mask/recall", "x"), "per_class['with_mask'].recall is 'x'"),
    ],
)
def test_a_hand_edit_is_named(metrics: Any, words: str) -> None:
    problem = metrics_problem(metrics)
    assert problem is not None and words in problem


def _record(tmp_path: Path, metrics: Any, *, file: bool = True) -> RunRecord:
    if file:
        (tmp_path / "metrics.json").write_text("{}")
    record = RunRecord("r1", tmp_path, {"model": "lenet"}, {"state": "done"})
    record.__dict__["metrics"] = metrics  # what store.read_json gave (metrics is read when first used)
    return record


def test_checked_record_drops_unreadable_metrics_only(tmp_path: Path) -> None:
    good = _record(tmp_path, GOOD)
    assert checked_record(good) == (good, None)
    bad, why = checked_record(_record(tmp_path, _with("per_class", "x")))
    assert bad.metrics is None and bad.run_id == "r1" and why == "per_class is not an object of classes"
    # store.read_json gives None for a file that is no JSON object: there is a file, so it is unreadable
    gone, why = checked_record(_record(tmp_path, None))
    assert gone.metrics is None and why is not None and "not a readable JSON object" in why
    (tmp_path / "metrics.json").unlink()
    unfinished = _record(tmp_path, None, file=False)
    assert checked_record(unfinished) == (unfinished, None)
