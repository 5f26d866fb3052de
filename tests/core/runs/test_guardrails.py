"""The collapse rule on metrics.json content, and the checks "make active" runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.fsutil import atomic_write_json
from core.runs.active_model import set_active
from core.runs.guardrails import activation_check, check_collapse
from core.runs.scene_figures import SceneFigure, save_scene_figure
from core.runs.store import run_path
from tests.core.runs.test_active_model import make_run


def metrics(recalls: dict[str, float], accuracy: float, macro_f1: float, matrix=None) -> dict[str, Any]:
    return {
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "classes": list(recalls),
        "per_class": {
            c: {"precision": 0.5, "recall": r, "f1": 0.5, "support": 10} for c, r in recalls.items()
        },
        **({"confusion_matrix": matrix} if matrix is not None else {}),
    }


COLLAPSED = metrics({"with_mask": 1.0, "without_mask": 0.0}, 0.864, 0.464, [[95, 0], [15, 0]])
HEALTHY = metrics({"with_mask": 0.97, "without_mask": 0.93}, 0.96, 0.95, [[97, 3], [1, 14]])
FIVE = metrics({"a": 0.9, "b": 0.95, "c": 0.92, "d": 0.3, "e": 0.88}, 0.85, 0.8)
GAP_ONLY = metrics({"with_mask": 0.99, "without_mask": 0.55}, 0.93, 0.70)


@pytest.mark.parametrize(
    ("data", "flagged", "words"),
    [
        (
            COLLAPSED,
            True,
            "This model calls almost every face with_mask: without_mask recall 0.00 on its test split.",
        ),
        (HEALTHY, False, None),
        (FIVE, True, "misses most d faces: d recall 0.30"),
        (
            metrics({"a": 0.2, "b": 0.4, "c": 0.9}, 0.7, 0.5),
            True,
            "misses most faces of 2 classes: recall a 0.20, b 0.40",
        ),
        (GAP_ONLY, True, "accuracy 0.93 hides classes it gets wrong: macro-F1 is only 0.70"),
        (metrics({"with_mask": 1.0, "without_mask": 0.0}, 0.5, 0.33), True, "misses most without_mask faces"),
        # malformed or hand-edited: judged where readable, never raises
        (None, False, None),
        ([1, 2], False, None),
        ({}, False, None),
        ({"accuracy": "high", "macro_f1": None, "per_class": "x"}, False, None),
        ({"per_class": {"a": "x", "b": {"recall": "0.1"}, "c": {"recall": True}}}, False, None),
        ({"per_class": {"a": {"recall": float("nan")}, "b": {"recall": 0.1, "support": 0}}}, False, None),
        ({**COLLAPSED, "confusion_matrix": [[1, "x"], [2]]}, True, "misses most without_mask faces"),
        ({**COLLAPSED, "confusion_matrix": [[1, 2, 3]]}, True, "misses most without_mask faces"),
        ({"accuracy": 0.9, "macro_f1": 0.5}, True, "macro-F1 is only 0.50"),
    ],
)
def test_collapse_rule(data: Any, flagged: bool, words: str | None) -> None:
    check = check_collapse(data)
    assert check.flagged is flagged
    if words is None:
        assert check.sentence is None
    else:
        assert words in check.sentence


def test_collapse_lists_the_weak_classes_weakest_first() -> None:
    check = check_collapse(metrics({"a": 0.4, "b": 0.1, "c": 0.9}, 0.6, 0.4))
    assert check.weak == (("b", 0.1), ("a", 0.4))
    assert check_collapse(None).note == "no readable metrics"


def figure(model: str, with_mask: float, without_mask: float, source: str = "/data/voc") -> SceneFigure:
    return SceneFigure(
        model, {"with_mask": with_mask, "without_mask": without_mask}, "voc", "voc", source, 100, 606
    )


def finished(root: Path, data: Any = HEALTHY) -> str:
    run_id = make_run(root)
    atomic_write_json(run_path(run_id, root) / "metrics.json", data)
    return run_id


def test_activation_check_flags_a_collapsed_run(workspace: Path) -> None:
    check = activation_check(finished(workspace, COLLAPSED))
    assert check.needs_confirm and check.collapse.flagged
    assert check.replaced is None  # no active run, no starter model in the test workspace
    assert not activation_check(finished(workspace)).needs_confirm


def test_activation_check_compares_scene_figures_with_the_active_run(workspace: Path) -> None:
    active, better, worse, elsewhere = (finished(workspace) for _ in range(4))
    set_active(active)
    save_scene_figure(figure(active, 0.78, 0.61))
    save_scene_figure(figure(better, 0.80, 0.65))
    save_scene_figure(figure(worse, 0.90, 0.20))
    save_scene_figure(figure(elsewhere, 0.10, 0.10, source="/data/other"))
    assert not activation_check(better).needs_confirm
    check = activation_check(worse)
    assert check.needs_confirm and not check.collapse.flagged and check.replaced == active
    assert check.figures.candidate.found_and_right["without_mask"] == 0.20
    assert check.figures.replaced.found_and_right["without_mask"] == 0.61
    other = activation_check(elsewhere)  # measured on other scenes: shown, not compared
    assert not other.needs_confirm and not other.figures.comparable


def test_activation_check_compares_with_the_starter_when_none_is_active(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.runs.starter import ENV_VAR
    from tests.core.runs.test_starter import make_starter

    monkeypatch.setenv(ENV_VAR, str(make_starter(tmp_path / "starter", b"model bytes")))
    run_id = finished(workspace)
    save_scene_figure(figure(run_id, 0.5, 0.5))
    save_scene_figure(figure("starter", 0.78, 0.61))
    check = activation_check(run_id)
    assert check.replaced == "starter" and check.needs_confirm
