"""core.review.retrain: a dataset version with the reviewed faces and a run warm-started from
the current model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.annotation.projects import Project
from core.data.manifest import find_manifest
from core.review.apply import ACCEPT, LABEL, Review, apply_reviews
from core.review.queue import build_queue
from core.review.retrain import compare_scene_sets, retrain_config, retrain_with_reviews, reviewed_count
from core.review.sources import ReviewError, Source
from core.runs.active_model import set_active
from core.runs.recipes import plan_run
from core.runs.store import load_run, queued_runs
from tests.core.review.conftest import CLASSES, ColourModel, FakeDetector
from tests.core.runs.test_active_model import make_run


def review_all(project: Project) -> None:
    queue = build_queue(
        Source("project", project.name),
        None,
        detector=FakeDetector(),
        classifier=ColourModel(),
        features=False,
    )
    apply_reviews(
        queue,
        [
            Review(e.key, ACCEPT) if e.guess == "mask" else Review(e.key, LABEL, "no_mask")
            for e in queue.entries
        ],
        project.name,
    )


def test_retrain_builds_a_version_with_the_reviews_and_queues_a_run(
    project: Project, run_id: str, workspace: Path
) -> None:
    set_active(run_id)
    with pytest.raises(ReviewError, match="no reviewed face"):
        retrain_with_reviews("p", start=False)
    review_all(project)
    assert reviewed_count(project) == 4
    done = retrain_with_reviews("p", start=False)
    assert done.reviewed == 4 and done.run_id in queued_runs()
    manifest, _ = find_manifest(done.version)
    assert manifest.dataset == done.dataset == "p-reviews"
    assert sorted(manifest.classes) == sorted(CLASSES) and len(manifest.files) == 5, (
        "4 reviewed faces and the hand-labelled one"
    )
    config = load_run(done.run_id).config
    assert config["dataset_version"] == done.version and config["model"] == "lenet"
    assert config["warm_start"] == "none", "a LeNet run has no warm start"
    again = retrain_with_reviews("p", start=False)
    assert again.dataset == "p-reviews_2", "each retrain builds a fresh dataset (no stale crops)"


def test_a_mobilenet_run_is_the_warm_start_of_its_retrain(workspace: Path) -> None:
    from core.fsutil import atomic_write_json
    from core.runs.store import run_path
    from tests.core.runs.test_active_model import LABELS
    from tests.fake_runs import make_manifest

    run = make_run(workspace, labels=LABELS, name="mobilenet_v2", image_size=96)
    config_file = run_path(run) / "config.json"
    atomic_write_json(config_file, {**load_run(run).config, "neurons": 64, "weights": "imagenet"})
    version = make_manifest(4)
    config = retrain_config(version, run)
    assert config.warm_start == f"run:{run}" and config.model == "mobilenet_v2" and config.neurons == 64
    text = " ".join(plan_run(config).notes)
    assert f"base and head from run {run}" in text
    narrow = plan_run(replace(config, neurons=32)).notes
    assert "so the head is new" in " ".join(narrow)
    with pytest.raises(ReviewError, match="cannot retrain"):
        retrain_config(version, "no-such-run")


def test_missing_project_is_refused(workspace: Path) -> None:
    with pytest.raises(ReviewError, match="no project"):
        retrain_with_reviews("ghost", start=False)


def test_scene_sets_for_before_and_after_leave_out_the_trained_project(
    project: Project, workspace: Path
) -> None:
    assert compare_scene_sets("p") == []
    other = Project.create("scenes")
    with other.edit() as ann:
        ann.add_category("mask")
    assert compare_scene_sets("p") == []
    assert compare_scene_sets("") == ["p"]
