"""Guardrails: is a finished run's model collapsed, judged from its metrics.json?

A model "collapses" when it answers (almost) one class whatever it sees: a 1-epoch run that calls
every face with_mask still shows a test accuracy of 0.86 on a split that is 86% with_mask. Two
signs, either one flags the run:

- a class with test support whose recall is under RECALL_FLOOR (0.5): the model misses most of
  that class's faces;
- accuracy minus macro-F1 over F1_GAP (0.15): accuracy is carried by the big class while the
  small ones are mostly wrong ("far below").

Hand-edited or damaged metrics never raise: what cannot be read is not judged (and `note` says so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TrainingError
from core.runs.active_model import get_active
from core.runs.scene_figures import STARTER, FigureComparison, compare_figures, latest_figure
from core.runs.starter import starter_status
from core.runs.store import load_run

#: A class with a test recall under this is "missed" by the model.
RECALL_FLOOR = 0.5
#: accuracy - macro-F1 above this means accuracy hides classes the model gets wrong.
F1_GAP = 0.15
#: A class that gets at least this share of every test prediction is "almost every face".
DOMINANT_SHARE = 0.9


@dataclass(frozen=True)
class CollapseCheck:
    """The verdict on one run: flagged or not, the plain sentence saying why, and the figures."""

    flagged: bool
    sentence: str | None = None
    weak: tuple[tuple[str, float], ...] = ()  # (class, recall) under RECALL_FLOOR, weakest first
    dominant: str | None = None  # the class the model answers almost always, if any
    accuracy: float | None = None
    macro_f1: float | None = None
    note: str | None = None  # why (part of) the metrics could not be judged


OK = CollapseCheck(False)


def _number(value: Any) -> float | None:
    """A finite float from a JSON value (bools, strings, NaN and the like are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _recalls(per_class: Any) -> dict[str, float]:
    """{class: recall} for the classes that have test faces and a readable recall."""
    if not isinstance(per_class, Mapping):
        return {}
    out: dict[str, float] = {}
    for name, scores in per_class.items():
        if not isinstance(scores, Mapping):
            continue
        recall, support = _number(scores.get("recall")), _number(scores.get("support"))
        if recall is None or (support is not None and support <= 0):
            continue  # no test faces of this class: its recall says nothing
        out[str(name)] = recall
    return out


def _dominant(metrics: Mapping[str, Any]) -> str | None:
    """The class that gets at least DOMINANT_SHARE of all test predictions (confusion matrix
    columns), or None (no such class, or no readable matrix)."""
    classes, matrix = metrics.get("classes"), metrics.get("confusion_matrix")
    if not isinstance(classes, list) or not isinstance(matrix, list) or not matrix:
        return None
    try:
        rows = [[float(v) for v in row] for row in matrix]
    except (TypeError, ValueError):
        return None
    if any(len(row) != len(classes) for row in rows) or len(rows) != len(classes):
        return None
    columns = [sum(col) for col in zip(*rows, strict=True)]
    total = sum(columns)
    if total <= 0:
        return None
    best = max(range(len(columns)), key=columns.__getitem__)
    return str(classes[best]) if columns[best] / total >= DOMINANT_SHARE else None


def check_collapse(metrics: Any) -> CollapseCheck:
    """Judge a run's metrics.json content (a dict, or anything read from a damaged file)."""
    if not isinstance(metrics, Mapping):
        return CollapseCheck(False, note="no readable metrics")
    accuracy, macro_f1 = _number(metrics.get("accuracy")), _number(metrics.get("macro_f1"))
    recalls = _recalls(metrics.get("per_class"))
    weak = tuple(sorted(((c, r) for c, r in recalls.items() if r < RECALL_FLOOR), key=lambda cr: cr[1]))
    gap = accuracy is not None and macro_f1 is not None and accuracy - macro_f1 > F1_GAP
    note = None if recalls else "no readable per-class recall"
    if not weak and not gap:
        return CollapseCheck(False, accuracy=accuracy, macro_f1=macro_f1, note=note)
    dominant = _dominant(metrics)
    if weak and dominant is not None and dominant not in dict(weak):
        shown = ", ".join(f"{c} recall {r:.2f}" for c, r in weak)
        sentence = f"This model calls almost every face {dominant}: {shown} on its test split."
    elif len(weak) == 1:
        c, r = weak[0]
        sentence = f"This model misses most {c} faces: {c} recall {r:.2f} on its test split."
    elif weak:
        shown = ", ".join(f"{c} {r:.2f}" for c, r in weak)
        sentence = f"This model misses most faces of {len(weak)} classes: recall {shown} on its test split."
    else:
        sentence = (
            f"This model's test accuracy {accuracy:.2f} hides classes it gets wrong: macro-F1 is "
            f"only {macro_f1:.2f} on its test split."
        )
    return CollapseCheck(True, sentence, weak, dominant, accuracy, macro_f1, note)


# ----- making a run the active model ---------------------------------------------------------
@dataclass(frozen=True)
class ActivationCheck:
    """What to show before run `run_id` replaces the current model (the active run, or the
    starter when none is active): its collapse verdict and both scene figures."""

    run_id: str
    replaced: str | None  # the active run id, "starter", or None (nothing to replace)
    collapse: CollapseCheck
    figures: FigureComparison

    @property
    def needs_confirm(self) -> bool:
        """Ask first when the run is collapsed or scored lower on the scene test."""
        return self.collapse.flagged or self.figures.lower


def activation_check(run_id: str, root: Path | None = None) -> ActivationCheck:
    """The checks "make active" runs before replacing the current model with run `run_id`
    (a run that cannot be read is not flagged: set_active gives its own reason)."""
    try:
        collapse = check_collapse(load_run(run_id, root).metrics)
    except TrainingError:
        collapse = OK
    active = get_active(root)
    replaced = active if active is not None else (STARTER if starter_status().available else None)
    if replaced is None or replaced == run_id:
        figures = FigureComparison(latest_figure(run_id, root), None, False)
    else:
        figures = compare_figures(run_id, replaced, root)
    return ActivationCheck(run_id, replaced, collapse, figures)
