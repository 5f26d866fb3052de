"""Live's snapshots: the raw frame last processed, saved into an annotation project with its
faces as pre-annotations (collecting training images from the webcam)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from PIL import Image

from core.annotation.projects import Project
from core.errors import LiveError
from core.inference.predict_io import SendReport, send_to_annotator
from core.inference.predictor import Face, FrameResult
from core.vision.detections import as_rgb_frame


@dataclass(frozen=True)
class Snapshot:
    """The raw frame last processed and its result (boxes in that frame's pixels)."""

    frame: np.ndarray  # HxWx3 uint8 RGB, a copy
    result: FrameResult
    captured_at: float


def jpeg_bytes(rgb: np.ndarray, quality: int = 95) -> bytes:
    """`rgb` encoded as JPEG (a webcam photo's format)."""
    buf = io.BytesIO()
    Image.fromarray(as_rgb_frame(rgb)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def snapshot_name(when: datetime | None = None) -> str:
    """A file name for a snapshot: live-YYYYmmdd-HHMMSS-mmm.jpg (local time)."""
    when = when or datetime.now()
    return f"live-{when:%Y%m%d-%H%M%S}-{when.microsecond // 1000:03d}.jpg"


def save_snapshot(
    project: Project,
    snap: Snapshot | None,
    *,
    add_categories: Sequence[str] = (),
    label: str | None = None,
    name: str | None = None,
) -> SendReport:
    """Store the snapshot's raw frame in `project` with its faces as pre-annotations.

    Each face becomes a box labelled with the project category of the same name ("None" when
    the project has none, for uncertain faces and for bare faces), with its confidence as score;
    `label` instead gives every face that category (collecting examples of one class, as
    Teachable Machine does). The annotation rules apply (refused boxes are listed). LiveError
    when there is no frame yet or `label` is not a category of the project.
    """
    if snap is None:
        raise LiveError("no frame has been processed yet: start the camera first")
    faces: Sequence[Face] = snap.result.faces
    if label is not None:
        if label not in project.load().categories:
            raise LiveError(f"project {project.name!r} has no category {label!r}")
        faces = [replace(f, label=label) for f in faces]
    return send_to_annotator(
        project, name or snapshot_name(), jpeg_bytes(snap.frame), faces, add_categories=add_categories
    )
