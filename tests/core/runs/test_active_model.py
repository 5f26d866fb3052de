"""The active model: set, read back, validated against the run store on every read."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.errors import ActiveModelError, ClassifierError
from core.runs.active_model import (
    ACTIVE_FILE,
    active_status,
    clear_active,
    finished_runs,
    get_active,
    run_model_mtime,
    set_active,
    usable_reason,
)
from core.runs.store import create_run, run_path, write_status

LABELS = ("with_mask", "without_mask")


def make_run(
    root: Path,
    *,
    state: str = "done",
    model: bytes | None = b"not read by these tests",
    labels: tuple[str, ...] | None = LABELS,
    image_size: int = 32,
    dataset_version: str = "v0",
    name: str = "lenet",
) -> str:
    """A run folder as the training engine leaves it (config, status, model file, labels)."""
    config = {"model": name, "dataset_version": dataset_version, "image_size": image_size}
    run_id = create_run(config, root, state=state)
    path = run_path(run_id, root)
    if model is not None:
        (path / "best.keras").write_bytes(model)
    if labels is not None:
        (path / "labels.txt").write_text("".join(f"{v}\n" for v in labels))
    write_status(path, state=state)
    return run_id


def test_nothing_active_in_a_new_workspace(workspace: Path) -> None:
    assert get_active() is None
    assert active_status().reason is None


def test_set_get_clear(workspace: Path) -> None:
    run_id = make_run(workspace)
    assert set_active(run_id) == run_id
    assert get_active() == run_id
    stored = json.loads((workspace / ACTIVE_FILE).read_text())
    assert stored["run_id"] == run_id and stored["set_at"]
    clear_active()
    assert get_active() is None
    clear_active()  # twice is fine


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"state": "queued"}, "queued, not finished"),
        ({"state": "failed"}, "failed, not finished"),
        ({"model": None}, "no model file"),
        ({"labels": None}, "no labels.txt"),
    ],
)
def test_unusable_runs_are_refused_with_the_reason(workspace: Path, kwargs: dict, reason: str) -> None:
    run_id = make_run(workspace, **kwargs)
    with pytest.raises(ActiveModelError, match=reason):
        set_active(run_id)
    assert get_active() is None
    assert run_id not in [r.run_id for r in finished_runs()]


def test_a_deleted_run_is_no_longer_active_and_says_why(workspace: Path) -> None:
    run_id = make_run(workspace)
    set_active(run_id)
    shutil.rmtree(run_path(run_id, workspace))
    status = active_status()
    assert status.run_id is None and status.stored == run_id
    assert "deleted" in status.reason
    assert get_active() is None


def test_a_run_that_lost_its_model_is_not_active(workspace: Path) -> None:
    run_id = make_run(workspace)
    set_active(run_id)
    (run_path(run_id, workspace) / "best.keras").unlink()
    assert get_active() is None
    assert "no model file" in active_status().reason


def test_run_model_mtime_follows_the_model_file_the_run_uses(workspace: Path) -> None:
    run_id = make_run(workspace)
    path = run_path(run_id, workspace)
    os.utime(path / "best.keras", (1_000_000, 1_000_000))
    assert run_model_mtime(run_id) == 1_000_000
    (path / "best.keras").rename(path / "model.keras")  # a run without a best checkpoint
    os.utime(path / "model.keras", (2_000_000, 2_000_000))
    assert run_model_mtime(run_id) == 2_000_000
    (path / "model.keras").unlink()
    with pytest.raises(ClassifierError, match="no model file"):
        run_model_mtime(run_id)


def test_unknown_and_invalid_ids(workspace: Path) -> None:
    with pytest.raises(ActiveModelError, match="deleted"):
        set_active("20990101-000000-nothing-000000")
    with pytest.raises(ActiveModelError, match="invalid run id"):
        set_active("../escape")
    assert usable_reason("../escape") is not None


def test_a_damaged_file_reads_as_no_active_model(workspace: Path) -> None:
    (workspace / ACTIVE_FILE).write_text("{not json")
    status = active_status()
    assert status.run_id is None and "damaged" in status.reason


def test_finished_runs_lists_only_usable_runs(workspace: Path) -> None:
    good = make_run(workspace)
    make_run(workspace, state="cancelled")
    make_run(workspace, model=None)
    assert [r.run_id for r in finished_runs()] == [good]
