"""The active model: the finished run that Predict, Live and the annotator classify faces with.

Stored as <workspace>/active_model.json ({"run_id": ..., "set_at": ...}, atomic). It is checked
against the run store every time it is read: a run that was deleted, is not finished, or lost
its model file is not active, and `active_status` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import ActiveModelError, ClassifierError, TrainingError
from core.fsutil import atomic_write_json
from core.runs.store import RunRecord, list_runs, load_run, now_iso, read_json, run_path
from core.workspace import workspace_root

ACTIVE_FILE = "active_model.json"


@dataclass(frozen=True)
class ActiveStatus:
    """The active run id, or None with the reason (None reason: nothing was ever chosen)."""

    run_id: str | None
    reason: str | None = None
    stored: str | None = None  # the run id in the file, valid or not


def active_path(root: Path | None = None) -> Path:
    return (root or workspace_root()) / ACTIVE_FILE


def usable_reason(run_id: str, root: Path | None = None) -> str | None:
    """Why run `run_id` cannot classify faces (missing, unfinished, no model), or None if it can."""
    try:
        record = load_run(run_id, root)
    except TrainingError as exc:
        return f"{exc} (deleted?)" if str(exc).startswith("no run") else str(exc)
    return record_reason(record)


def record_reason(record: RunRecord) -> str | None:
    """Why the loaded run `record` cannot classify faces (unfinished, no model), or None if it can."""
    from core.runs.models import run_labels, run_model_path

    if record.state != "done":
        return f"run {record.run_id} is {record.state}, not finished"
    try:
        run_model_path(record.path)
        run_labels(record.path, record.metrics)
    except ClassifierError as exc:
        return str(exc)
    return None


def run_model_mtime(run_id: str, root: Path | None = None) -> float:
    """The modification time of run `run_id`'s model file, which names the caches of what is
    loaded or measured from it (a retrained run is loaded again); ClassifierError when the run
    has no model file, OSError when it cannot be read."""
    from core.runs.models import run_model_path

    return run_model_path(run_path(run_id, root)).stat().st_mtime


def finished_runs(root: Path | None = None) -> list[RunRecord]:
    """Runs that can be made active (finished, with a model file and labels), newest first."""
    return [r for r in list_runs(root) if record_reason(r) is None]


def set_active(run_id: str, root: Path | None = None) -> str:
    """Make `run_id` the active model; ActiveModelError (with the reason) if it cannot be."""
    reason = usable_reason(run_id, root)
    if reason is not None:
        raise ActiveModelError(f"cannot make it the active model: {reason}")
    atomic_write_json(active_path(root), {"run_id": run_id, "set_at": now_iso()})
    return run_id


def clear_active(root: Path | None = None) -> None:
    """No active model any more."""
    active_path(root).unlink(missing_ok=True)


def active_status(root: Path | None = None) -> ActiveStatus:
    """The active run, checked against the run store now."""
    path = active_path(root)
    if not path.exists():
        return ActiveStatus(None)
    data = read_json(path)
    stored = data.get("run_id") if data else None
    if not isinstance(stored, str) or not stored:
        return ActiveStatus(None, f"{ACTIVE_FILE} is damaged; choose the active model again")
    reason = usable_reason(stored, root)
    if reason is not None:
        return ActiveStatus(None, f"the active model is not usable: {reason}", stored)
    return ActiveStatus(stored, None, stored)


def get_active(root: Path | None = None) -> str | None:
    """The active run id, or None (nothing chosen, or the chosen run is no longer usable)."""
    return active_status(root).run_id
