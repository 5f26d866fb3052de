"""Deleted projects, kept for a while and restorable.

    <workspace>/trash/<id>/trash.json   what it was: {"kind", "name", "deleted_at"}
    <workspace>/trash/<id>/project/     the project folder as it was at deletion

A project goes to the trash in one rename (it is gone for every page at once, never half
there) and comes back the same way. Entries older than `TRASH_DAYS` are removed by
`purge_trash`, which deleting a project and the trash list both run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.errors import ProjectError, WorkspaceError
from core.fsutil import atomic_write_json
from core.locking import folder_lock
from core.workspace import new_folder, projects_dir, workspace_root

TRASH_DAYS = 14
META_FILE = "trash.json"
CONTENT = "project"


@dataclass(frozen=True)
class TrashEntry:
    """One deleted project: `id` names its trash folder, `name` the project it was."""

    id: str
    name: str
    deleted_at: float

    def expires_at(self, days: float = TRASH_DAYS) -> float:
        return self.deleted_at + days * 86400


def trash_dir(root: Path | None = None) -> Path:
    return (root or workspace_root()) / "trash"


def move_to_trash(
    folder: Path, name: str, root: Path | None = None, *, now: float | None = None
) -> TrashEntry:
    """Move a project folder into the trash (the caller holds the project's lock)."""
    deleted_at = time.time() if now is None else now
    entry = TrashEntry(f"{int(deleted_at)}-{uuid.uuid4().hex[:8]}", name, deleted_at)
    base = trash_dir(root)
    with folder_lock(base):
        place = base / entry.id
        place.mkdir()
        atomic_write_json(place / META_FILE, {"kind": "project", "name": name, "deleted_at": deleted_at})
        try:
            os.replace(folder, place / CONTENT)
        except OSError:
            shutil.rmtree(place, ignore_errors=True)
            raise
    return entry


def list_trash(root: Path | None = None) -> list[TrashEntry]:
    """The deleted projects that can be restored, newest first."""
    base = trash_dir(root)
    if not base.is_dir():
        return []
    found = []
    for place in base.iterdir():
        entry = _entry(place)
        if entry is not None and (place / CONTENT).is_dir():
            found.append(entry)
    return sorted(found, key=lambda e: e.deleted_at, reverse=True)


def _entry(place: Path) -> TrashEntry | None:
    try:
        meta = json.loads((place / META_FILE).read_text(encoding="utf-8"))
        return TrashEntry(place.name, str(meta["name"]), float(meta["deleted_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def restore_project(entry_id: str, root: Path | None = None) -> str:
    """Put a deleted project back. Returns its name: the old one, or `<name>_restored` (`_2`, ...)
    when a project of that name exists now."""
    base = trash_dir(root)
    with folder_lock(base):  # two tabs restoring one entry: the second finds it gone
        place = base / entry_id
        entry = _entry(place) if place.parent == base and entry_id not in {"", ".", ".."} else None
        if entry is None or not (place / CONTENT).is_dir():
            raise ProjectError("that deleted project is no longer in the trash")
        target = None
        for candidate in [
            entry.name,
            f"{entry.name}_restored",
            *(f"{entry.name}_restored_{n}" for n in range(2, 100)),
        ]:
            try:
                target = new_folder(projects_dir(root), candidate, "project")
                break
            except WorkspaceError:
                continue
        if target is None:
            raise ProjectError(f"no free name to restore {entry.name!r} under")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(place / CONTENT, target)
        shutil.rmtree(place, ignore_errors=True)
        return target.name


def purge_trash(root: Path | None = None, *, now: float | None = None, days: float = TRASH_DAYS) -> list[str]:
    """Remove trash entries older than `days` (and leftovers of an interrupted deletion).
    Returns the names of the projects removed for good."""
    base = trash_dir(root)
    if not base.is_dir():
        return []
    now = time.time() if now is None else now
    gone = []
    with folder_lock(base):
        for place in base.iterdir():
            if not place.is_dir():
                continue
            entry = _entry(place)
            if entry is None or not (place / CONTENT).is_dir():
                shutil.rmtree(place, ignore_errors=True)  # left by a deletion that was interrupted
                continue
            if entry.expires_at(days) <= now:
                shutil.rmtree(place, ignore_errors=True)
                gone.append(entry.name)
    return gone
