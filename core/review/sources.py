"""Where the review queue's faces come from: candidates, each a face on a photo to label.

Sources (`Source.kind`):
- "project": an annotation project's "None" boxes, its boxes labelled by a model (a label other
  than "None" with a score: core.inference.classify_boxes and Predict's "send to annotator"
  record the model's confidence as the box score; a box labelled by hand has none), and its
  photos with no box yet, run through the default face detector. Boxes already marked reviewed
  (`reviewed_boxes`) are left out.
- "folder": every photo of a folder, run through the default face detector.
- "snapshots": Live's snapshots (core.live.snapshots: `live-*.jpg` images saved into projects),
  across every project, read as the project source reads them.
- "sends": Predict's "send to annotator" targets (projects named `predictions-<date>`,
  core.inference.predict_io.dated_project_name), read as the project source reads them.

Detections are cached per photo by file digest and detector (<workspace>/cache/review/), so a
second ranking of the same photos runs no detector. Nothing else is written here.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotation.annotations import NONE, Annotations
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.fsutil import atomic_write_json, natural_sorted, safe_name
from core.imaging import is_image_name, load_rgb_array
from core.vision.detections import FaceDetector
from core.workspace import workspace_root

KINDS = ("project", "folder", "snapshots", "sends")
#: The per-image key of annotations.json that marks boxes reviewed: {box id: review record}.
REVIEWED_KEY = "reviewed"
#: Live's snapshot file names (core.live.snapshots.snapshot_name) start with this.
SNAPSHOT_PREFIX = "live-"
#: Predict's default target projects (core.inference.predict_io.dated_project_name("predictions")).
SENDS_PREFIX = "predictions-"
#: The detector that finds faces on photos with no boxes (core.vision.detectors).
DETECTOR = "centerface"
_CACHE_FILE = "detections.json"
_CACHE_GUARD = threading.Lock()


class ReviewError(MaskStudioError):
    """Bad input to the review queue: a missing project or folder, no photos, no faces, a model
    whose classes do not fit, a review that can no longer be applied."""


@dataclass(frozen=True)
class Source:
    """What a queue ranks: `kind` (KINDS) and `name` (a project name, a folder path; "" for
    snapshots and sends)."""

    kind: str
    name: str = ""

    @property
    def key(self) -> str:
        """A file-name-safe key naming this source's queue file."""
        if self.kind == "project":
            return f"project-{safe_name(self.name, fallback='project')}"
        if self.kind == "folder":
            digest = hashlib.sha1(str(Path(self.name).expanduser().resolve()).encode("utf-8", "replace"))
            return f"folder-{safe_name(Path(self.name).name, fallback='folder')}-{digest.hexdigest()[:10]}"
        return self.kind

    def describe(self) -> str:
        if self.kind == "project":
            return f"project {self.name}"
        if self.kind == "folder":
            return f"folder {self.name}"
        return "Live snapshots" if self.kind == "snapshots" else "Predict sends"


def parse_source(text: str, root: Path | None = None) -> Source:
    """A project of the workspace (by name), else an existing folder (by path); "snapshots" and
    "sends" name those sources unless a project has that name. ReviewError otherwise."""
    text = str(text).strip()
    if not text:
        raise ReviewError("no source given: name a project or an image folder")
    if text in list_projects(root):
        return Source("project", text)
    if text in ("snapshots", "sends"):
        return Source(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return Source("folder", str(path.resolve()))
    raise ReviewError(f"{text!r} is neither a project of this workspace nor an image folder")


def available_sources(root: Path | None = None) -> list[Source]:
    """The sources a person can pick now: every project, then Live snapshots and Predict sends
    when some project holds them (image folders are typed in, not listed)."""
    names = list_projects(root)
    out = [Source("project", n) for n in names]
    if any(
        any(img.startswith(SNAPSHOT_PREFIX) for img in Project.open(n, root).list_images()) for n in names
    ):
        out.append(Source("snapshots"))
    if any(n.startswith(SENDS_PREFIX) for n in names):
        out.append(Source("sends"))
    return out


@dataclass(frozen=True)
class Candidate:
    """One face to rank. `image`: the photo's path; `xyxy` in its original pixels; `det_score`:
    the detector's score, NaN for a box drawn by a person (or whose score is the model's);
    `project`/`image_name`/`box_id`: where the box lives in a project ("" when it is not a
    project box yet); `label`: the box's current label (None when not a project box)."""

    image: str
    xyxy: tuple[float, float, float, float]
    det_score: float = math.nan
    project: str = ""
    image_name: str = ""
    box_id: str = ""
    label: str | None = None

    @property
    def key(self) -> str:
        """A stable id of this face: its project box, else its photo and box."""
        if self.project and self.box_id:
            text = f"{self.project}\0{self.image_name}\0{self.box_id}"
        else:
            text = f"{self.image}\0{[round(float(v), 1) for v in self.xyxy]}"
        return hashlib.sha1(text.encode("utf-8", "backslashreplace"), usedforsecurity=False).hexdigest()[:16]


@dataclass
class Collected:
    """The candidates of a source, the photos that could not be read, and the projects read
    (name -> their annotation revision: the sha256 of annotations.json)."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    photos: int = 0
    revisions: dict[str, str] = field(default_factory=dict)


def reviewed_boxes(ann: Annotations, image: str) -> dict[str, Any]:
    """{box id: review record} of the boxes of `image` marked reviewed (older files: {})."""
    entry = ann.images.get(image)
    raw = entry.extra.get(REVIEWED_KEY) if entry else None
    return dict(raw) if isinstance(raw, dict) else {}


def needs_review(label: str, score: float | None) -> bool:
    """A "None" box, or a box labelled by a model (it has a score); not one labelled by hand."""
    return label == NONE or score is not None


def project_revision(project: Project) -> str:
    """The annotation revision of a project: the sha256 of its annotations.json ("" when none)."""
    try:
        return hashlib.sha256(project.annotations_path.read_bytes()).hexdigest()
    except OSError:
        return ""


def collect(source: Source, root: Path | None = None, detector: FaceDetector | None = None) -> Collected:
    """Every candidate face of `source`. ReviewError for a missing project or folder, or a
    source with no photo at all; unreadable photos are listed in `skipped`."""
    if source.kind not in KINDS:
        raise ReviewError(f"unknown source kind {source.kind!r}: use one of {', '.join(KINDS)}")
    out = Collected()
    finder = _Detections(detector, root)
    if source.kind == "folder":
        folder = Path(source.name).expanduser()
        if not folder.is_dir():
            raise ReviewError(f"no folder {source.name!r}")
        photos = natural_sorted([p.name for p in folder.iterdir() if p.is_file() and is_image_name(p.name)])
        if not photos:
            raise ReviewError(f"the folder {source.name!r} has no images ({', '.join(_exts())})")
        for name in photos:
            _detect_into(out, finder, folder / name, "", name)
        if out.photos == 0:
            raise ReviewError(
                f"none of the {len(photos)} images of {source.name!r} could be read: "
                + "; ".join(out.skipped[:3])
            )
    elif source.kind == "project":
        if source.name not in list_projects(root):
            raise ReviewError(f"no project {source.name!r} in this workspace")
        _project_into(out, Project.open(source.name, root), finder, None)
        if out.photos == 0:
            raise ReviewError(f"the project {source.name!r} has no images")
    else:
        prefix = SNAPSHOT_PREFIX if source.kind == "snapshots" else ""
        names = [n for n in list_projects(root) if source.kind == "snapshots" or n.startswith(SENDS_PREFIX)]
        for name in names:
            project = Project.open(name, root)
            _project_into(out, project, finder, lambda img, p=prefix: img.startswith(p))
        if out.photos == 0:
            what = "Live snapshots" if source.kind == "snapshots" else "photos sent from Predict"
            raise ReviewError(f"there are no {what} in this workspace's projects yet")
    finder.save()
    return out


def _exts() -> Iterable[str]:
    from core.imaging import IMAGE_EXTENSIONS

    return IMAGE_EXTENSIONS


def _project_into(out: Collected, project: Project, finder: _Detections, keep: Any) -> None:
    ann = project.load()
    out.revisions[project.name] = project_revision(project)
    for name in project.list_images():
        if keep is not None and not keep(name):
            continue
        out.photos += 1
        path = project.images_dir / name
        boxes = ann.boxes(name)
        if not boxes:
            _detect_into(out, finder, path, project.name, name)
            continue
        done = reviewed_boxes(ann, name)
        for b in boxes:
            if b.id in done or not needs_review(b.label, b.score):
                continue
            det = float(b.score) if b.label == NONE and b.score is not None else math.nan
            out.candidates.append(
                Candidate(
                    str(path),
                    (float(b.x1), float(b.y1), float(b.x2), float(b.y2)),
                    det,
                    project.name,
                    name,
                    b.id,
                    b.label,
                )
            )


def _detect_into(out: Collected, finder: _Detections, path: Path, project: str, name: str) -> None:
    try:
        found = finder.faces(path)
    except MaskStudioError as exc:
        out.skipped.append(f"{name}: {exc}")
        return
    if not project:
        out.photos += 1
    for x1, y1, x2, y2, score in found:
        out.candidates.append(Candidate(str(path), (x1, y1, x2, y2), score, project, name, "", None))


class _Detections:
    """The default detector's faces per photo, cached by file digest in the workspace."""

    def __init__(self, detector: FaceDetector | None, root: Path | None) -> None:
        self._detector = detector
        self.name = str(getattr(detector, "name", DETECTOR)) if detector is not None else DETECTOR
        self.path = (root or workspace_root()) / "cache" / "review" / _CACHE_FILE
        self._cache: dict[str, list[list[float]]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list[list[float]]]:
        if self._cache is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                table = data.get(self.name) if isinstance(data, dict) else None
                self._cache = dict(table) if isinstance(table, dict) else {}
            except (OSError, ValueError):
                self._cache = {}
        return self._cache

    def faces(self, path: Path) -> list[tuple[float, float, float, float, float]]:
        """(x1, y1, x2, y2, score) of the faces on `path`; ImageLoadError when unreadable."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReviewError(f"cannot read {path.name} ({exc})") from exc
        digest = hashlib.sha256(data).hexdigest()
        cache = self._load()
        rows = cache.get(digest)
        if not (isinstance(rows, list) and all(isinstance(r, list) and len(r) == 5 for r in rows)):
            frame = load_rgb_array(data, name=path.name)
            if self._detector is None:
                from core.vision.detectors import get_detector

                self._detector = get_detector(DETECTOR)
            rows = [[*(float(v) for v in d.xyxy), float(d.score)] for d in self._detector.detect(frame)]
            cache[digest] = rows
            self._dirty = True
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def save(self) -> None:
        if not self._dirty or self._cache is None:
            return
        with _CACHE_GUARD:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                data = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                data = {}
            old = data.get(self.name)
            table: dict[str, Any] = old if isinstance(old, dict) else {}
            table.update(self._cache)
            data[self.name] = table
            atomic_write_json(self.path, data)
        self._dirty = False
