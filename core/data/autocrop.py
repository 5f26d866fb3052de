"""Auto-crop faces from raw photos into a dataset's unlabelled bin, and find photos left to do.

A ledger (`<dataset>/.autocrop.json`, written atomically) records every raw photo by the
sha256 of its bytes, so a renamed or re-uploaded photo is still recognised: cropped, no face
found, or unreadable (bytes that are no usable image, with the reason; not decoded again).
Photos with no face found, or not processed yet, can be copied into an annotation project to be
boxed by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotation.projects import Project, list_projects
from core.data.build import BuildReport, crop_boxes, staged_build
from core.data.dataset import UNLABELLED, Dataset
from core.data.fingerprints import Progress
from core.errors import ImageLoadError, MaskStudioError, WorkspaceError
from core.fsutil import atomic_write_json, natural_key
from core.imaging import CROP_SIZE, is_image_name, load_rgb_array
from core.locking import folder_lock

LEDGER_FILE = ".autocrop.json"
#: (display name, path or raw bytes) of one raw photo.
Photo = tuple[str, Path | bytes]


@dataclass
class AutoCropReport:
    """Per photo: faces cropped, no face found, unreadable (with reason), or done before."""

    faces: dict[str, int] = field(default_factory=dict)
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    crops: BuildReport = field(default_factory=BuildReport)


def photos_in(folder: str | os.PathLike[str]) -> list[Photo]:
    """The image files directly inside `folder`, in natural order."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise WorkspaceError(f"{folder} is not a folder")
    files = [
        p for p in root.iterdir() if p.is_file() and is_image_name(p.name) and not p.name.startswith(".")
    ]
    return [(p.name, p) for p in sorted(files, key=lambda p: natural_key(p.name))]


def _read(photo: Photo) -> bytes:
    src = photo[1]
    return bytes(src) if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()


def load_ledger(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """{sha256: {"name", "faces", "status"}} of the photos auto-cropped into `dataset`."""
    try:
        data = json.loads((dataset.root / LEDGER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    photos = data.get("photos") if isinstance(data, dict) else None
    return photos if isinstance(photos, dict) else {}


def _save_ledger(dataset: Dataset, ledger: dict[str, dict[str, Any]]) -> None:
    """Merge `ledger`'s entries into the saved ledger, re-read under the dataset's lock (another
    run's entries are kept)."""
    with folder_lock(dataset.root):
        merged = load_ledger(dataset)
        merged.update(ledger)
        atomic_write_json(dataset.root / LEDGER_FILE, {"version": 1, "photos": merged})


def auto_crop(
    dataset: Dataset,
    photos: Sequence[Photo],
    *,
    detector: Any = None,
    size: int = CROP_SIZE,
    redo: bool = False,
    progress: Progress | None = None,
) -> AutoCropReport:
    """Detect faces in each photo and save their square crops in the unlabelled bin.

    `detector` has `detect(rgb) -> [Detection]`; default: core.vision.detectors' default detector.
    Photos already cropped, or recorded as unreadable, are skipped unless `redo`. Crops:
    `<stem>_<n>.png`, n by score.
    """
    if detector is None:
        from core.vision.detectors import DEFAULT_DETECTOR, get_detector

        detector = get_detector(DEFAULT_DETECTOR)
    ledger = load_ledger(dataset)
    report = AutoCropReport()
    with staged_build(dataset, report.crops) as stage:
        for i, photo in enumerate(photos):
            name = photo[0]
            try:
                data = _read(photo)
                digest = hashlib.sha256(data).hexdigest()
                seen = {} if redo else ledger.get(digest, {})
                if seen.get("status") == "cropped":
                    report.already.append(name)
                    continue
                if seen.get("status") == "unreadable":
                    report.unreadable.append(f"{name}: {seen.get('reason') or 'not an image'} (seen before)")
                    continue
                image = load_rgb_array(data)
            except ImageLoadError as exc:  # the bytes are no usable image: recorded, not tried again
                why = getattr(exc, "reason", None) or str(exc)
                report.unreadable.append(f"{name}: {why}")
                ledger[digest] = {"name": name, "faces": 0, "status": "unreadable", "reason": why}
                continue
            except OSError as exc:  # the file could not be read (nothing to record): tried next time
                report.unreadable.append(f"{name}: {exc}")
                continue
            try:
                found = detector.detect(image)
            except MaskStudioError as exc:  # the detector's fault, not the photo's: tried next time
                report.unreadable.append(f"{name}: {getattr(exc, 'reason', None) or exc}")
                continue
            boxes = [(d.xyxy, UNLABELLED) for d in found]
            crop_boxes(
                dataset,
                image,
                Path(name).stem,
                boxes,
                report.crops,
                size=size,
                folder=dataset.unlabelled_dir,
                stage=stage,
            )
            if found:
                report.faces[name] = len(found)
            else:
                report.no_face.append(name)
            ledger[digest] = {"name": name, "faces": len(found), "status": "cropped" if found else "no_face"}
            if progress:
                progress(i + 1, len(photos))
    _save_ledger(dataset, ledger)
    return report


def photos_to_do(dataset: Dataset, photos: Sequence[Photo]) -> list[tuple[Photo, str]]:
    """(photo, reason) for each photo with no face found, not processed yet, or unreadable."""
    ledger = load_ledger(dataset)
    out: list[tuple[Photo, str]] = []
    for photo in photos:
        try:
            entry = ledger.get(hashlib.sha256(_read(photo)).hexdigest())
        except OSError as exc:
            out.append((photo, f"cannot read ({exc.strerror or exc})"))
            continue
        if entry is None:
            out.append((photo, "not processed yet"))
        elif entry.get("status") == "no_face":
            out.append((photo, "no face found"))
        elif entry.get("status") == "unreadable":
            out.append((photo, f"unreadable ({entry.get('reason') or 'not an image'})"))
    return out


def send_to_project(
    photos: Sequence[Photo], project_name: str, *, on_error: Callable[[str], None] | None = None
) -> tuple[Project, list[str]]:
    """Copy photos into an annotation project (created when missing). Returns it and the
    stored image names; unreadable photos are reported through `on_error` and skipped."""
    project = Project.open(project_name) if project_name in list_projects() else Project.create(project_name)
    added: list[str] = []
    for photo in photos:
        try:
            added.append(project.add_image(photo[0], _read(photo)))
        except (OSError, ImageLoadError, WorkspaceError) as exc:
            if on_error:
                on_error(f"{photo[0]}: {exc}")
    return project, added
