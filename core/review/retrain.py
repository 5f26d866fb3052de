"""Retrain with my reviews: a dataset version holding the reviewed faces, and a run queued on it,
warm-started from the current model.

The project's boxes labelled by a person (the reviewed faces among them; a model's unreviewed
guesses are left out) are cropped into a new dataset
`<project>-reviews` (numbered when taken) (core.data.build.crop_project, as the Datasets page builds crops), which is
split into a new version (core.data.split). The run (core.training.worker.enqueue) takes the
current model's settings and starts from it: a run of a pretrained family from that run's model
(warm_start "run:<id>": its base, and its head when the classes match), the starter from the
starter; the recipe keys are chosen for the dataset as for any run (core.runs.recipes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.annotation.annotations import NONE
from core.annotation.projects import Project, list_projects
from core.data.build import crop_project
from core.data.dataset import Dataset, unique_dataset_name
from core.data.split import split_dataset
from core.errors import MaskStudioError
from core.fsutil import safe_name
from core.inference.scene_sets import scene_sources
from core.review.ranking import default_model_ref
from core.review.sources import REVIEWED_KEY, ReviewError
from core.runs.config import RUN_WARM_PREFIX, RunConfig
from core.runs.pretrained import starter_model, starter_neurons
from core.runs.starter import STARTER_ID
from core.runs.store import load_run
from core.training.worker import enqueue
from models.registry import DEFAULT_MODEL

#: The run settings a retrain takes from the current model's run.
KEPT_SETTINGS = (
    "model",
    "image_size",
    "batch_size",
    "epochs",
    "loss",
    "optimizer",
    "learning_rate",
    "neurons",
    "dropout",
    "augment",
    "seed",
    "weights",
    "fast_path",
)


@dataclass(frozen=True)
class Retrain:
    """What "retrain with my reviews" queued: the run, its dataset and version, and the model it
    starts from."""

    run_id: str
    dataset: str
    version: str
    warm_start: str
    reviewed: int


def reviewed_count(project: Project) -> int:
    """How many boxes of `project` are marked reviewed (and still there)."""
    ann = project.load()
    count = 0
    for entry in ann.images.values():
        marks = entry.extra.get(REVIEWED_KEY)
        if isinstance(marks, dict):
            ids = {b.id for b in entry.boxes if b.label != NONE}
            count += sum(1 for k in marks if k in ids)
    return count


def reviews_dataset_name(project: str) -> str:
    return f"{safe_name(project, fallback='project')}-reviews"


def retrain_config(version: str, model_ref: str | None = None, root: Path | None = None) -> RunConfig:
    """The run config of a retrain on dataset `version`, starting from `model_ref` (None: the
    active model, else the starter)."""
    ref = model_ref or default_model_ref(root)
    if ref == STARTER_ID:
        return RunConfig(
            model=starter_model(),
            dataset_version=version,
            neurons=starter_neurons(),
            warm_start="starter",
            name="retrain with reviews (from the starter)",
        )
    try:
        record = load_run(ref, root)
    except MaskStudioError as exc:
        raise ReviewError(f"cannot retrain from {ref!r}: {exc}") from exc
    kept: dict[str, Any] = {k: record.config[k] for k in KEPT_SETTINGS if record.config.get(k) is not None}
    warm = (
        f"{RUN_WARM_PREFIX}{ref}"
        if RunConfig(model=str(kept.get("model", DEFAULT_MODEL))).backbone is not None
        and kept.get("weights", "imagenet") == "imagenet"
        else "none"
    )
    try:
        return RunConfig.from_dict(
            {
                **kept,
                "dataset_version": version,
                "warm_start": warm,
                "name": f"retrain with reviews (from {ref})",
            }
        )
    except MaskStudioError as exc:
        raise ReviewError(f"cannot retrain from {ref!r}: {exc}") from exc


def retrain_with_reviews(
    project_name: str, root: Path | None = None, *, model_ref: str | None = None, start: bool = True
) -> Retrain:
    """Build the reviews dataset of `project_name`, split it into a new version, and queue a run
    on it warm-started from the current model. Returns the run. ReviewError when the project has
    no reviewed face, or the dataset cannot be built or split."""
    if project_name not in list_projects(root):
        raise ReviewError(f"no project {project_name!r}")
    project = Project.open(project_name, root)
    reviewed = reviewed_count(project)
    if reviewed == 0:
        raise ReviewError(f"project {project_name!r} has no reviewed face yet: review some faces first")
    name = reviews_dataset_name(project.name)
    try:
        dataset = Dataset.create(unique_dataset_name(name, root), root)  # a fresh one: no stale crops
        crop_project(project, dataset, human_only=True)  # never the model's unchecked guesses
        split = split_dataset(dataset)
        config = retrain_config(split.manifest.version, model_ref, root)
        run_id = enqueue(config, root, start=start)
    except ReviewError:
        raise
    except MaskStudioError as exc:
        raise ReviewError(f"retraining with the reviews of {project_name!r} failed: {exc}") from exc
    return Retrain(run_id, dataset.name, split.manifest.version, config.warm_start or "none", reviewed)


def compare_scene_sets(project_name: str = "", root: Path | None = None) -> list[str]:
    """Scene sets (projects with labelled boxes, core.inference.scene_sets) on which to compare
    the model before and after a retrain: every one but the reviewed project itself (its faces
    are in the training data). Empty when none exists."""
    return [s for s in scene_sources(root) if s != project_name]
