"""The review queue on disk: <workspace>/review/<source key>.json, written atomically.

    {"format": 1, "source": {"kind", "name"}, "model": ModelInfo, "model_ref": "active" | id,
     "revisions": {project: sha256 of its annotations.json when scored}, "built_at": ...,
     "share": 0.15, "seed": 0, "skipped": [...], "notes": [...], "entries": [QueueEntry, ...]}

Each entry records the face (photo, box in original pixels, project box id), its priority, the
model's guess, confidence and probabilities, why it is queued ("random" for the random share)
and, once reviewed, what the person decided. A queue scored with the active model is stale
when the active model changes (another run, or the same run retrained): `build_queue` then
scores again, keeping the reviews already made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotation.annotations import NONE
from core.annotation.projects import Project, list_projects
from core.fsutil import atomic_write_json
from core.review.ranking import ModelInfo, QueueEntry, check_classes, load_classifier, model_info, rank
from core.review.scores import RANDOM_SHARE, UNCERTAINTY, random_share_accuracy
from core.review.sources import ReviewError, Source, collect
from core.runs.store import now_iso
from core.vision.classifier import Classifier
from core.vision.detections import FaceDetector
from core.workspace import workspace_root

FORMAT = 1
REVIEW_DIR = "review"
#: `Queue.model_ref` of a queue scored with whatever model is active.
ACTIVE = "active"


@dataclass
class Queue:
    """A ranked queue of faces for one source, and the model and revisions it was scored with."""

    source: Source
    model: ModelInfo
    model_ref: str
    entries: list[QueueEntry]
    revisions: dict[str, str] = field(default_factory=dict)
    built_at: str = ""
    share: float = RANDOM_SHARE
    seed: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "source": {"kind": self.source.kind, "name": self.source.name},
            "model": self.model.to_dict(),
            "model_ref": self.model_ref,
            "revisions": dict(self.revisions),
            "built_at": self.built_at,
            "share": self.share,
            "seed": self.seed,
            "skipped": list(self.skipped),
            "notes": list(self.notes),
            "entries": [e.to_dict() for e in self.entries],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Queue | None:
        """The queue in `data`, or None when it is not a readable queue of this format."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        try:
            model = ModelInfo.from_dict(data["model"])
            if model is None:
                return None
            src = data["source"]
            return cls(
                Source(str(src["kind"]), str(src.get("name") or "")),
                model,
                str(data.get("model_ref") or ACTIVE),
                [QueueEntry.from_dict(e) for e in data["entries"]],
                {str(k): str(v) for k, v in dict(data.get("revisions") or {}).items()},
                str(data.get("built_at") or ""),
                float(data.get("share", RANDOM_SHARE)),
                int(data.get("seed", 0)),
                [str(v) for v in data.get("skipped") or []],
                [str(v) for v in data.get("notes") or []],
            )
        except (KeyError, TypeError, ValueError):
            return None

    def entry(self, key: str) -> QueueEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def pending(self) -> list[QueueEntry]:
        """The faces not reviewed yet, in review order."""
        return [e for e in self.entries if e.review is None]


@dataclass(frozen=True)
class Progress:
    """Reviewed and remaining faces, and the model's accuracy estimated from the reviewed random
    faces: (accuracy, 95% half-width) over `random_reviewed` faces, None before any."""

    reviewed: int
    remaining: int
    random_reviewed: int
    accuracy: tuple[float, float] | None


def queue_path(source: Source, root: Path | None = None) -> Path:
    return (root or workspace_root()) / REVIEW_DIR / f"{source.key}.json"


def load_queue(source: Source, root: Path | None = None) -> Queue | None:
    """The saved queue of `source`, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(queue_path(source, root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Queue.from_dict(data)


def save_queue(queue: Queue, root: Path | None = None) -> Path:
    return atomic_write_json(queue_path(queue.source, root), queue.to_dict())


def queue_is_stale(queue: Queue, root: Path | None = None) -> str | None:
    """Why `queue` must be scored again (its model changed: another active model, or its file
    retrained or gone), or None when it is current."""
    try:
        now = model_info(None if queue.model_ref == ACTIVE else queue.model_ref, root, digest=False)
    except Exception as exc:  # noqa: BLE001 - any reason the model is gone makes the queue stale
        return f"its model can no longer be used: {exc}"
    if now.run_id != queue.model.run_id:
        return f"the active model changed (from {queue.model.run_id} to {now.run_id})"
    if now.file != queue.model.file or now.mtime != queue.model.mtime:
        digest = model_info(now.run_id, root).digest
        if digest != queue.model.digest:
            return f"the model of {now.run_id} changed since the queue was scored"
    return None


def progress(queue: Queue) -> Progress:
    """Reviewed / remaining, and the accuracy estimate from the reviewed random faces of the
    queue's model ("not a face" answers are left out: they say nothing of the classifier; nor
    are reviews of the guesses of a model the queue was scored with before)."""
    reviewed = [e for e in queue.entries if e.review is not None]
    outcomes = [
        bool(e.review.get("correct"))
        for e in reviewed
        if e.random
        and e.review is not None
        and e.review.get("action") != "not_face"
        and e.review.get("model_digest", queue.model.digest) == queue.model.digest
    ]
    return Progress(
        len(reviewed), len(queue.entries) - len(reviewed), len(outcomes), random_share_accuracy(outcomes)
    )


def build_queue(
    source: Source,
    model_ref: str | None = None,
    root: Path | None = None,
    *,
    share: float = RANDOM_SHARE,
    seed: int = 0,
    measure: str = UNCERTAINTY,
    detector: FaceDetector | None = None,
    features: bool = True,
    save: bool = True,
    classifier: Classifier | None = None,
) -> Queue:
    """Collect `source`'s faces, score them with `model_ref` (None: the active model, else the
    starter), rank them and save the queue (when `save`). `classifier`: the model already loaded
    (a page's cached one); it must be the one `model_ref` names. Reviews already made in the saved
    queue are kept (first, as they were) and their faces are not queued again.

    ReviewError (nothing written) for a missing source, no photos or faces, or a model whose
    classes do not match the project's categories."""
    info = model_info(model_ref, root)
    if source.kind == "project" and source.name in list_projects(root):  # before anything is cached
        check_classes(info.labels, Project.open(source.name, root).load().categories, source.name)
    collected = collect(source, root, detector)
    counts: dict[str, int] = {}
    for name in collected.revisions:
        ann = Project.open(name, root).load()
        for label, n in ann.label_counts().items():
            if label != NONE:
                counts[label] = counts.get(label, 0) + n
    previous = load_queue(source, root)
    done = [e for e in previous.entries if e.review is not None] if previous else []
    done_keys = {e.key for e in done}
    collected.candidates = [c for c in collected.candidates if c.key not in done_keys]
    if not collected.candidates and not done:
        detail = f" ({'; '.join(collected.skipped[:3])})" if collected.skipped else ""
        raise ReviewError(f"no face to review in {source.describe()}{detail}")
    entries: list[QueueEntry] = []
    skipped, notes = list(collected.skipped), list[str]()
    if collected.candidates:
        if classifier is None:
            classifier = load_classifier(info, root)
        elif tuple(classifier.labels) != info.labels:
            raise ReviewError(f"the classifier given is not model {info.run_id} (its classes differ)")
        entries, skipped, notes = rank(
            collected,
            classifier,
            class_counts=counts,
            share=share,
            seed=seed,
            measure=measure,
            features=features,
        )
    queue = Queue(
        source,
        info,
        model_ref or ACTIVE,
        done + entries,
        dict(collected.revisions),
        now_iso(),
        share,
        seed,
        skipped,
        notes,
    )
    if save:
        save_queue(queue, root)
    return queue


def current_queue(source: Source, root: Path | None = None, **options: Any) -> Queue:
    """The saved queue of `source` when it is current, else a freshly scored one (saved)."""
    queue = load_queue(source, root)
    if queue is not None and queue_is_stale(queue, root) is None:
        return queue
    ref = None if queue is None or queue.model_ref == ACTIVE else queue.model_ref
    return build_queue(source, options.pop("model_ref", ref), root, **options)
