"""Applying reviews: the person's answers land in the project they chose, by box id.

An answer accepts the model's guess, picks a class, or says "not a face". A batch of answers is
one change of the chosen project (one version of its history, core.annotation.history, so one
undo takes it back), made under the project's lock:
- a face that is a box of the chosen project is relabelled by its box id as a human label
  (no score) and marked reviewed in annotations.json (`<image>.reviewed[box id]`, an extra
  per-image key older readers ignore); "not a face" deletes the box. A box deleted since the
  queue was scored, or labelled by hand elsewhere since, is refused with a message; a box still
  there is reviewed whatever model or annotation revision the queue was scored with.
- any other face (a photo of a folder, of another project, a detection with no box yet) is
  added to the chosen project: its photo (stored once) and a box with the label, marked
  reviewed. "Not a face" then writes nothing.
Nothing is written into any other project. The queue records each answer (`QueueEntry.review`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotation.annotations import NONE, Annotations, Box
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.locking import folder_lock
from core.review.queue import Queue, load_queue, queue_path, save_queue
from core.review.ranking import QueueEntry
from core.review.sources import REVIEWED_KEY, ReviewError
from core.runs.store import now_iso

ACCEPT, LABEL, NOT_FACE = "accept", "label", "not_face"
ACTIONS = (ACCEPT, LABEL, NOT_FACE)


@dataclass(frozen=True)
class Review:
    """A person's answer on the queue's face `key`: ACCEPT the guess, LABEL it `label`, or NOT_FACE."""

    key: str
    action: str
    label: str | None = None


@dataclass
class ApplyReport:
    """What a batch did: answers applied, a message per refused one, the project's new version."""

    project: str
    applied: int = 0
    refused: list[str] = field(default_factory=list)
    version: int | None = None


def apply_reviews(
    queue: Queue, reviews: list[Review], project_name: str, root: Path | None = None
) -> ApplyReport:
    """Apply `reviews` to project `project_name` (the one the person chose) and record them in
    the queue (saved). ReviewError when the project does not exist (nothing written).

    The whole batch runs under the lock of the queue's folder, and answers saved meanwhile by
    another process or tab are read back first: two batches never save over each other, and a
    face answered elsewhere is refused here instead of being applied twice."""
    path = queue_path(queue.source, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(path.parent):
        _catch_up(queue, root)
        return _apply_reviews(queue, reviews, project_name, root)


def _catch_up(queue: Queue, root: Path | None) -> None:
    """Copy into `queue` the answers its saved copy has and it has not (same faces only)."""
    saved = load_queue(queue.source, root)
    if saved is None:
        return
    for entry in saved.entries:
        mine = queue.entry(entry.key)
        if entry.review is not None and mine is not None and mine.review is None:
            mine.review = entry.review


def _apply_reviews(queue: Queue, reviews: list[Review], project_name: str, root: Path | None) -> ApplyReport:
    if project_name not in list_projects(root):
        raise ReviewError(f"no project {project_name!r}: choose the project the reviews go to")
    project = Project.open(project_name, root)
    report = ApplyReport(project.name)
    todo: list[tuple[QueueEntry, Review, str | None]] = []
    for r in reviews:
        entry = queue.entry(r.key)
        problem = _problem(entry, r)
        if problem:
            report.refused.append(problem)
            continue
        assert entry is not None
        todo.append((entry, r, entry.guess if r.action == ACCEPT else r.label))
    # photos from elsewhere are stored first (add_image takes the lock itself)
    stored: dict[str, str] = {}
    for entry, _r, label in todo:
        if label is None or _in_place(entry, project.name) or entry.image in stored:
            continue
        try:
            stored[entry.image] = _store_photo(project, entry)
        except (MaskStudioError, OSError) as exc:
            stored[entry.image] = ""
            report.refused.append(f"{os.path.basename(entry.image)}: the photo could not be stored ({exc})")
    done: list[tuple[QueueEntry, Review, str | None, str]] = []
    before = project.history.current()
    with project.edit(f"review: {len(todo)} face(s)") as ann:
        for entry, r, label in todo:
            try:
                box_id = _apply_one(ann, project, entry, label, stored, queue)
            except MaskStudioError as exc:  # box gone, a rule broken, the photo deleted since
                report.refused.append(f"{entry.image_name or os.path.basename(entry.image)}: {exc}")
                continue
            done.append((entry, r, label, box_id))
    version = project.history.current()
    changed = version is not None and (before is None or version.seq != before.seq)
    report.version = version.seq if changed and version is not None else None
    for entry, r, label, box_id in done:
        entry.review = {
            "action": r.action,
            "label": label,
            "guess": entry.guess,
            "correct": label == entry.guess,
            "project": project.name,
            "box_id": box_id,
            "version": report.version,
            "model": queue.model.run_id,
            "model_digest": queue.model.digest,
            "at": now_iso(),
        }
    report.applied = len(done)
    if done:
        save_queue(queue, root)
    return report


def _problem(entry: QueueEntry | None, r: Review) -> str | None:
    if entry is None:
        return "a review names a face that is not in this queue (it was scored again): nothing applied"
    if entry.review is not None:
        return f"{entry.image_name or os.path.basename(entry.image)}: this face was already reviewed"
    if r.action not in ACTIONS:
        return f"unknown review action {r.action!r}: use one of {', '.join(ACTIONS)}"
    if r.action == LABEL and (not isinstance(r.label, str) or not r.label.strip() or r.label == NONE):
        return "a picked class must be a category name other than None"
    return None


def _in_place(entry: QueueEntry, project: str) -> bool:
    """The face's photo is already an image of the chosen project."""
    return entry.project == project and bool(entry.image_name)


def _store_photo(project: Project, entry: QueueEntry) -> str:
    data = Path(entry.image).read_bytes()
    return project.add_image(os.path.basename(entry.image), data)


def _record(entry: QueueEntry, queue: Queue, label: str | None) -> dict[str, Any]:
    return {"label": label, "guess": entry.guess, "model": queue.model.run_id, "at": now_iso()}


def _mark(ann: Annotations, image: str, box_id: str, record: dict[str, Any] | None) -> None:
    extra = ann.images[image].extra
    marks = dict(extra.get(REVIEWED_KEY) or {}) if isinstance(extra.get(REVIEWED_KEY), dict) else {}
    if record is None:
        marks.pop(box_id, None)
    else:
        marks[box_id] = record
    if marks:
        extra[REVIEWED_KEY] = marks
    else:
        extra.pop(REVIEWED_KEY, None)


def _apply_one(
    ann: Annotations,
    project: Project,
    entry: QueueEntry,
    label: str | None,
    stored: dict[str, str],
    queue: Queue,
) -> str:
    """Apply one answer inside the edit; returns the box id it labelled ("" when none)."""
    if _in_place(entry, project.name) and entry.box_id:
        image = entry.image_name
        i = ann.index_of(image, entry.box_id)
        if i is None:
            raise ReviewError("the box is gone (deleted or replaced since the queue was scored): not applied")
        box = ann.boxes(image)[i]
        if box.score is None and box.label not in (NONE, entry.label):
            raise ReviewError(
                f'the box was labelled "{box.label}" by hand since the queue was scored: not applied'
            )
        if label is None:
            ann.delete_box(image, i)
            _mark(ann, image, entry.box_id, None)
            return ""
        _ensure_category(ann, label)
        ann.set_label(image, i, label, None)
        _mark(ann, image, entry.box_id, _record(entry, queue, label))
        return entry.box_id
    if label is None:
        return ""  # not a face, and no box of this project: nothing to write
    image = entry.image_name if _in_place(entry, project.name) else stored.get(entry.image, "")
    if not image:
        raise ReviewError("its photo could not be stored in the project")
    size = project.image_size(image)
    _ensure_category(ann, label)
    added = ann.add_box(image, Box.from_xyxy(entry.xyxy, label), image_size=size)
    _mark(ann, image, added.id, _record(entry, queue, label))
    return added.id


def _ensure_category(ann: Annotations, label: str) -> None:
    """Add `label` as a category of the chosen project when it is not one yet."""
    if label not in ann.category_set():
        ann.add_category(label)


def undo_reviews(queue: Queue, project_name: str, root: Path | None = None) -> int:
    """Undo the last batch of reviews applied to `project_name` (one project undo) and mark its
    faces unreviewed in the queue (saved). Returns how many faces; ReviewError when the
    project's current version is not that batch (something changed it since)."""
    project = Project.open(project_name, root)
    versions = [
        e.review.get("version") for e in queue.entries if e.review and e.review.get("project") == project.name
    ]
    batches = [b for b in versions if isinstance(b, int)]
    if not batches:
        raise ReviewError("no review of this queue was applied to that project")
    last = max(batches)
    current = project.history.current()
    if current is None or current.seq != last:
        raise ReviewError("the project changed since these reviews: undo them on the Annotate page instead")
    project.undo()
    faces = [e for e in queue.entries if e.review and e.review.get("version") == last]
    for e in faces:
        e.review = None
    save_queue(queue, root)
    return len(faces)
