"""Scene figures: what a model scored on the last scene test, kept per model and per scene set.

The scene test (core.inference.scenes) scores models on whole photos; `save_scene_figure` keeps
its headline, "found and right" per class, so Predict, Live and "make active" can show it later:

    <run folder>/scene_tests.json             a finished run's figures
    <workspace>/starter_scene_tests.json      the starter model's (it has no run folder)

Each file holds {"format": 1, "figures": [...]}, newest first, one per scene set (the last test
on that set wins), at most KEEP; written atomically. A damaged file reads as no figures. The
starter model also has the figures it shipped with (starter.json "scene_cv": 5-fold
cross-validation over the shared VOC scenes), used while it has none of its own.

`compare_figures` says whether a candidate scored lower than the model it would replace: only
figures measured on the same scene set are compared, by their mean found-and-right over classes
(each class counts the same, so a model that drops one class cannot hide behind the big one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import TrainingError
from core.fsutil import atomic_write_json
from core.runs.store import now_iso, read_json, run_path
from core.workspace import workspace_root

STARTER = "starter"
RUN_FILE = "scene_tests.json"
STARTER_FILE = "starter_scene_tests.json"
KEEP = 8
#: `kind` of the starter's shipped figures, and what they were measured on.
CROSS_VALIDATION = "cross-validation"
STARTER_CV_SCENES = "5-fold cross-validation over the 100 shared VOC scenes"


@dataclass(frozen=True)
class SceneFigure:
    """One model's headline on one scene set: found-and-right per model class."""

    model: str  # run id or "starter"
    found_and_right: dict[str, float]
    scene_set: str  # the project name, the VOC folder's name, or STARTER_CV_SCENES
    kind: str  # "project", "voc" or CROSS_VALIDATION
    source: str = ""  # the project name or VOC folder path (what identifies the set)
    photos: int | None = None
    faces: int | None = None
    detector: str | None = None
    measured_at: str | None = None  # ISO 8601 (None: shipped with the model)

    @property
    def set_key(self) -> str:
        return f"{self.kind}:{self.source or self.scene_set}"

    @property
    def score(self) -> float | None:
        """Mean found-and-right over the classes (None without any)."""
        values = list(self.found_and_right.values())
        return sum(values) / len(values) if values else None

    def where(self) -> str:
        """What the figures were measured on, e.g. "100 VOC scenes (606 faces), 2026-12-07"."""
        count = f"{self.photos} " if self.photos is not None else ""
        if self.kind == CROSS_VALIDATION:
            text = self.scene_set
        elif self.kind == "voc":
            text = f"{count}VOC scenes of {self.scene_set}"
        else:
            text = f"{count}photos of project {self.scene_set}"
        if self.faces is not None:
            text += f" ({self.faces} faces)"
        if self.measured_at:
            text += f", {self.measured_at[:10]}"
        return text

    def describe(self) -> str:
        """One line, e.g. "Scene test: with_mask 0.78, without_mask 0.61 found-and-right on 100
        VOC scenes of voc (606 faces), 2026-12-07" (plain text: names come from users)."""
        values = ", ".join(f"{c} {v:.2f}" for c, v in self.found_and_right.items())
        on = "in" if self.kind == CROSS_VALIDATION else "on"
        return f"Scene test: {values} found-and-right {on} {self.where()}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def figure_from_dict(data: Any, model: str | None = None) -> SceneFigure | None:
    """A SceneFigure from stored JSON, or None when it is not one (hand-edited, damaged)."""
    if not isinstance(data, Mapping):
        return None
    far = data.get("found_and_right")
    if not isinstance(far, Mapping):
        return None
    values = {str(c): v for c, v in ((c, _number(v)) for c, v in far.items()) if v is not None}
    kind, name = data.get("kind"), data.get("scene_set")
    if not values or not isinstance(kind, str) or not isinstance(name, str):
        return None
    text = {
        k: data.get(k) if isinstance(data.get(k), str) else None
        for k in ("source", "detector", "measured_at")
    }
    return SceneFigure(
        model=model or str(data.get("model") or ""),
        found_and_right=values,
        scene_set=name,
        kind=kind,
        source=text["source"] or "",
        photos=_count(data.get("photos")),
        faces=_count(data.get("faces")),
        detector=text["detector"],
        measured_at=text["measured_at"],
    )


def figures_path(model: str, root: Path | None = None) -> Path:
    """Where `model`'s figures are kept (TrainingError for an invalid run id)."""
    if model == STARTER:
        return (root or workspace_root()) / STARTER_FILE
    return run_path(model, root) / RUN_FILE


def scene_figures(model: str, root: Path | None = None) -> list[SceneFigure]:
    """`model`'s stored figures, newest first ([] when none, or the file is damaged)."""
    try:
        data = read_json(figures_path(model, root)) or {}
    except TrainingError:
        return []
    items = data.get("figures")
    figures = [figure_from_dict(item, model) for item in items] if isinstance(items, list) else []
    return [f for f in figures if f is not None]


def save_scene_figure(figure: SceneFigure, root: Path | None = None) -> SceneFigure:
    """Keep `figure` as its model's newest (replacing its figure on the same scene set). A run
    must still exist (TrainingError otherwise). Stamped now when it has no time."""
    if not figure.measured_at:
        figure = SceneFigure(**{**figure.to_dict(), "measured_at": now_iso()})
    path = figures_path(figure.model, root)
    if figure.model != STARTER and not path.parent.is_dir():
        raise TrainingError(f"no run {figure.model!r}")
    kept = [f for f in scene_figures(figure.model, root) if f.set_key != figure.set_key]
    atomic_write_json(path, {"format": 1, "figures": [f.to_dict() for f in [figure, *kept][:KEEP]]})
    return figure


def starter_shipped_figure() -> SceneFigure | None:
    """The starter's figures from starter.json ("scene_cv"), None when absent or damaged."""
    from core.runs.starter import starter_info

    cv = starter_info().get("scene_cv")
    if not isinstance(cv, Mapping):
        return None
    data = {**cv, "scene_set": STARTER_CV_SCENES, "kind": CROSS_VALIDATION, "source": "starter.json"}
    return figure_from_dict(data, STARTER)


def latest_figure(model: str, root: Path | None = None) -> SceneFigure | None:
    """`model`'s newest scene figure; for the starter its shipped one when it has none of its own."""
    figures = scene_figures(model, root)
    if figures:
        return figures[0]
    return starter_shipped_figure() if model == STARTER else None


@dataclass(frozen=True)
class FigureComparison:
    """The candidate's newest figure, the replaced model's (on the same set where it has one),
    and whether the candidate scored lower there."""

    candidate: SceneFigure | None
    replaced: SceneFigure | None
    lower: bool

    @property
    def comparable(self) -> bool:
        return (
            self.candidate is not None
            and self.replaced is not None
            and self.candidate.set_key == self.replaced.set_key
        )


def compare_figures(candidate: str, replaced: str, root: Path | None = None) -> FigureComparison:
    """Did `candidate` score lower on its last scene test than `replaced` (a run id or "starter")
    on the same scene set? The replaced model's newest figure is shown when no set matches."""
    mine = latest_figure(candidate, root)
    theirs = latest_figure(replaced, root)
    if mine is not None:
        same = [f for f in scene_figures(replaced, root) if f.set_key == mine.set_key]
        theirs = same[0] if same else theirs
    comparison = FigureComparison(mine, theirs, False)
    if mine is None or theirs is None or not comparison.comparable:
        return comparison
    if mine.score is not None and theirs.score is not None:
        return FigureComparison(mine, theirs, mine.score < theirs.score)
    return comparison
