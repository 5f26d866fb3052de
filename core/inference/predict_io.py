"""Predict's inputs and outputs: workspace image folders, and sending an image with its predicted
boxes to an annotation project (the data flywheel: correct the model's mistakes, retrain)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project, list_projects
from core.errors import WorkspaceError
from core.fsutil import natural_key, natural_sorted, safe_name
from core.imaging import is_image_name, load_image_within
from core.inference.predictor import FACE, UNCERTAIN, FrameResult, Predictor
from core.workspace import workspace_root

#: Folders never offered as inputs (caches and split manifests).
SKIP_FOLDERS = frozenset({"cache", "runs"})
#: Predict finds and crops faces on a copy of a photo of at most this many pixels (a 12-megapixel
#: phone photo is used as it is); its boxes are given back in the photo's own pixels. A
#: 100-megapixel photo decoded whole took 1 GB to find faces in (benchmarks/safety.py).
PREDICT_MAX_PIXELS = 16_000_000


def predict_photo(
    predictor: Predictor,
    src: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    fit_pixels: int = PREDICT_MAX_PIXELS,
) -> FrameResult:
    """The faces of an image file or upload, boxes in its own (upright) pixels; its width and
    height those of the full image. The detector and the crops see a copy of at most
    `fit_pixels` pixels (core.imaging.load_image_within). ImageLoadError for a bad file."""
    image, (width, height) = load_image_within(src, fit_pixels, name=name)
    frame = np.asarray(image)
    del image
    return predictor.run(frame).scaled_to(width, height)


def image_folders(root: Path | None = None, max_depth: int = 4) -> list[str]:
    """Workspace folders (relative, POSIX) holding at least one image file, in natural order.

    Hidden folders, caches and run folders are skipped.
    """
    base = root or workspace_root()
    found: list[str] = []

    def walk(folder: Path, depth: int) -> None:
        try:
            entries = list(folder.iterdir())
        except OSError:
            return
        if any(e.is_file() and is_image_name(e.name) and not e.name.startswith(".") for e in entries):
            found.append(folder.relative_to(base).as_posix() if folder != base else ".")
        if depth >= max_depth:
            return
        for e in entries:  # links are followed (dataset class folders may link to shared data)
            if e.is_dir() and not e.name.startswith(".") and e.name not in SKIP_FOLDERS:
                walk(e, depth + 1)

    if base.is_dir():
        walk(base, 0)
    return sorted(found, key=natural_key)


def folder_images(folder: str, root: Path | None = None) -> list[Path]:
    """The image files directly inside workspace folder `folder`, in natural order."""
    rel = Path(folder)
    if rel.is_absolute() or ".." in rel.parts:
        raise WorkspaceError(f"{folder} is outside the workspace")
    path = (root or workspace_root()) / rel
    if not path.is_dir():
        raise WorkspaceError(f"no folder {folder!r} in the workspace")
    names = natural_sorted([p.name for p in path.iterdir() if p.is_file() and is_image_name(p.name)])
    return [path / n for n in names if not n.startswith(".")]


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().casefold())


def category_for(label: str, categories: Sequence[str]) -> str:
    """The project category for a predicted label: the same name (exactly, else ignoring case and
    space/underscore/hyphen differences), or "None" when the project has no such category."""
    if label in categories:
        return label
    wanted = _norm(label)
    for c in categories:
        if c != NONE and _norm(c) == wanted:
            return c
    return NONE


def label_fit(labels: Sequence[str], categories: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """({model label: project category}, labels that would become "None") for a target project."""
    mapping = {label: category_for(label, categories) for label in labels if label not in (FACE, UNCERTAIN)}
    return mapping, [label for label, cat in mapping.items() if cat == NONE]


@dataclass
class SendReport:
    """What sending one image did: the stored name, boxes added, refusals, label -> category."""

    project: str
    image: str
    added: int = 0
    refused: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    categories_added: list[str] = field(default_factory=list)


def send_to_annotator(
    project: Project,
    filename: str,
    data: bytes,
    faces: Iterable[Any],
    *,
    add_categories: Sequence[str] = (),
) -> SendReport:
    """Store the image in `project` (the same bytes are stored once) and add each face as a box
    labelled with the matching project category ("None" when unknown or uncertain) and its
    confidence as score. Boxes that break the box rules (e.g. overlap a box already there) are
    refused and listed. `add_categories` are created first when missing."""
    image = project.add_image(filename, data)
    width, height = project.image_size(image)
    report = SendReport(project.name, image)
    with project.edit() as ann:
        for name in add_categories:
            if name not in ann.categories and category_for(name, ann.categories) == NONE:
                report.categories_added.append(ann.add_category(name))
        boxes = []
        for face in faces:
            category = category_for(str(face.label), ann.categories)
            report.mapping[str(face.label)] = category
            score = getattr(face, "confidence", None)
            boxes.append(
                Box.from_xyxy(face.xyxy, category, None if score is None else round(float(score), 4))
            )
        added, refused = ann.try_add_boxes(image, boxes, image_size=(width, height))
    report.added = len(added)
    report.refused = [
        f"box [{b.x1}, {b.y1}, {b.x2}, {b.y2}] ({b.label}): {exc.message}" for b, exc in refused
    ]
    return report


# ----- where predictions go ---------------------------------------------------------------
def dated_project_name(source: str, day: date | None = None) -> str:
    """The default project for a source's predictions: `predictions-2026-11-29`."""
    return f"{source}-{(day or date.today()).isoformat()}"


def open_or_create(name: str, root: Path | None = None) -> Project:
    """The project called `name` (its folder name), created when there is none yet."""
    folder = safe_name(name, fallback="")
    if folder and folder in list_projects(root):
        return Project.open(folder, root)
    return Project.create(name, root)


def human_labelled_boxes(project: Project) -> int:
    """Boxes someone labelled by hand: a category other than None and no model score."""
    ann = project.load()
    return sum(1 for entry in ann.images.values() for b in entry.boxes if b.score is None and b.label != NONE)
