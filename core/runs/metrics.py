"""A run's metrics.json checked before it is shown: a hand-edited or damaged file never breaks Compare.

core.runs.store reads metrics.json as whatever JSON object it holds (None when the file is not
one). The training worker writes numbers, a class list, a square confusion matrix and per-class
figures; metrics_problem says, in words, how a parsed file differs from that, and checked_record
gives Compare a record whose metrics are either that shape or None ("metrics unreadable").
"""

from __future__ import annotations

import math
from typing import Any

from core.runs.store import RunRecord

#: Scores between 0 and 1.
SCORE_KEYS = ("accuracy", "macro_f1", "best_val_accuracy")
#: Counts, sizes and durations: numbers of zero or more.
AMOUNT_KEYS = (
    "params_total",
    "train_seconds",
    "feature_seconds",
    "total_seconds",
    "inference_ms_per_image",
    "latency_ms_single",
    "epochs_run",
    "train_count",
)
PER_CLASS_KEYS = ("precision", "recall", "f1", "support")
UNREADABLE = "metrics unreadable"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _amount_problem(where: str, value: Any, *, score: bool) -> str | None:
    if value is None:
        return None
    if not _number(value) or value < 0:
        return f"{where} is {value!r}, not a number of zero or more"
    if score and value > 1:
        return f"{where} is {value!r}, outside 0..1"
    return None


def _matrix_problem(metrics: dict[str, Any]) -> str | None:
    classes, matrix = metrics.get("classes"), metrics.get("confusion_matrix")
    if classes is not None and (
        not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)
    ):
        return "classes is not a list of names"
    if matrix is None or matrix == []:  # an empty test split has no matrix
        return None
    if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
        return "confusion_matrix is not a list of rows"
    size = len(classes) if isinstance(classes, list) else len(matrix)
    if len(matrix) != size or any(len(row) != size for row in matrix):
        return f"confusion_matrix is not {size} × {size} (one row and column per class)"
    if not all(_number(v) and v >= 0 for row in matrix for v in row):
        return "confusion_matrix holds something other than counts"
    return None


def _per_class_problem(per_class: Any) -> str | None:
    if per_class is None:
        return None
    if not isinstance(per_class, dict):
        return "per_class is not an object of classes"
    for cls, vals in per_class.items():
        if not isinstance(vals, dict):
            return f"per_class[{cls!r}] is not an object"
        for key in PER_CLASS_KEYS:
            problem = _amount_problem(f"per_class[{cls!r}].{key}", vals.get(key), score=key != "support")
            if problem:
                return problem
    return None


def metrics_problem(metrics: Any) -> str | None:
    """Why parsed metrics cannot be shown as they are (in words), or None when they can."""
    if not isinstance(metrics, dict):
        return f"not a JSON object but {type(metrics).__name__}"
    for key in (*SCORE_KEYS, *AMOUNT_KEYS):
        problem = _amount_problem(key, metrics.get(key), score=key in SCORE_KEYS)
        if problem:
            return problem
    fast = metrics.get("fast_path")
    if fast is not None and not isinstance(fast, bool):
        return f"fast_path is {fast!r}, not true or false"
    return _matrix_problem(metrics) or _per_class_problem(metrics.get("per_class"))


def checked_record(record: RunRecord) -> tuple[RunRecord, str | None]:
    """`record` with metrics to trust, and None; or a copy without metrics and why they are
    unreadable (a metrics.json that is there but is no JSON object, or not in the worker's shape)."""
    if record.metrics is None:
        if (record.path / "metrics.json").is_file():
            return record.without_metrics(), "metrics.json is not a readable JSON object"
        return record, None
    problem = metrics_problem(record.metrics)
    if problem is None:
        return record, None
    return record.without_metrics(), problem
