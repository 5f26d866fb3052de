"""The thorough detector for photos: one face detector run more than once on a photo (as it is,
mirrored left-right, and/or cut into overlapping tiles that each fill the detector's canvas),
the passes' boxes mapped back to original pixels and merged by non-maximum suppression.

Test-time augmentation for detection: a face the detector scores just under its threshold in one
view often clears it in another. It costs one detector pass per view, so it is for photos; Live
keeps its single fast pass. Registered as "centerface-thorough" in core.vision.detectors;
benchmarks/faces.py measures each variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from core.errors import DetectorError
from core.geometry import suppress_overlaps
from core.vision.detections import Detection, FaceDetector, as_rgb_frame

THOROUGH = "centerface-thorough"
#: Tiles narrower or lower than this many pixels are not worth a pass; such photos are not tiled.
MIN_TILE_PX = 16


class ThoroughDetector:
    """`base` on the photo plus a mirrored pass (`flip`) and/or `zoom` x `zoom` tiles.

    Each tile spans 1/zoom of the photo's side plus `tile_overlap` of it, so a face up to that
    overlap wide lies whole in some tile; boxes that touch a tile's inner edge (cut faces) are
    dropped, larger faces being the whole-photo pass's job. The passes are merged by greedy NMS
    at IoU > `merge_iou`, keeping the best-scored box of each face. A base that letterboxes into
    a fixed canvas (CenterFace) sees each face of a tile about zoom / (1 + zoom * tile_overlap)
    times larger than in the whole photo.
    """

    def __init__(
        self,
        base: FaceDetector,
        *,
        flip: bool = True,
        zoom: int = 1,
        merge_iou: float = 0.3,
        tile_overlap: float = 0.1,
        name: str = THOROUGH,
    ) -> None:
        if not callable(getattr(base, "detect", None)):
            raise DetectorError(f"the base of a thorough detector must be a face detector, got {base!r}")
        if isinstance(zoom, bool) or not isinstance(zoom, int) or not 1 <= zoom <= 4:
            raise DetectorError(f"zoom must be a whole number of tiles per side, 1..4, got {zoom!r}")
        if not flip and zoom == 1:
            raise DetectorError("a thorough detector needs a second pass: flip=True or zoom >= 2")
        if not 0.0 < float(merge_iou) <= 1.0:
            raise DetectorError(f"merge_iou must be in (0, 1], got {merge_iou!r}")
        if not 0.0 <= float(tile_overlap) <= 0.5:
            raise DetectorError(f"tile_overlap must be in [0, 0.5], got {tile_overlap!r}")
        self.base = base
        self.flip = bool(flip)
        self.zoom = zoom
        self.merge_iou = float(merge_iou)
        self.tile_overlap = float(tile_overlap)
        self.name = name

    def passes(self, image: Any) -> dict[str, list[Detection]]:
        """Each pass's faces in original-image pixels: "photo", then "mirrored", "tiles"."""
        frame = as_rgb_frame(image)
        out = {"photo": self.base.detect(frame)}
        if self.flip:
            out["mirrored"] = mirror(self.base.detect(np.ascontiguousarray(frame[:, ::-1])), frame.shape[1])
        if self.zoom > 1:
            out["tiles"] = self._tiles(frame)
        return out

    def detect(self, image: Any) -> list[Detection]:
        """Faces in an RGB frame, best score first."""
        return merge_passes(self.passes(image).values(), self.merge_iou)

    def tile_boxes(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The (x1, y1, x2, y2) tiles of a `width` x `height` photo; none if they would be tiny."""
        xs = _spans(width, self.zoom, self.tile_overlap)
        ys = _spans(height, self.zoom, self.tile_overlap)
        if xs[0][1] - xs[0][0] < MIN_TILE_PX or ys[0][1] - ys[0][0] < MIN_TILE_PX:
            return []
        return [(x1, y1, x2, y2) for y1, y2 in ys for x1, x2 in xs]

    def _tiles(self, frame: np.ndarray) -> list[Detection]:
        height, width = frame.shape[:2]
        found = []
        for x1, y1, x2, y2 in self.tile_boxes(width, height):
            for d in self.base.detect(np.ascontiguousarray(frame[y1:y2, x1:x2])):
                cut = (
                    (x1 > 0 and d.x1 <= 1)
                    or (x2 < width and d.x2 >= x2 - x1 - 1)
                    or (y1 > 0 and d.y1 <= 1)
                    or (y2 < height and d.y2 >= y2 - y1 - 1)
                )
                if not cut:
                    found.append(d.shifted(x1, y1))
        return found


def mirror(detections: Iterable[Detection], width: int) -> list[Detection]:
    """Boxes found in a left-right mirrored frame `width` px wide, mapped back to the frame."""
    return [replace(d, x1=width - d.x2, x2=width - d.x1) for d in detections]


def merge_passes(passes: Iterable[Sequence[Detection]], merge_iou: float) -> list[Detection]:
    """Several passes' detections as one list: greedy NMS at IoU > `merge_iou`, best score first."""
    found = [d for p in passes for d in p]
    if not found:
        return []
    keep = suppress_overlaps(found, [d.score for d in found], merge_iou)
    return [found[i] for i in keep]


def _spans(side: int, zoom: int, overlap: float) -> list[tuple[int, int]]:
    """`zoom` (start, end) spans along a side of `side` px, evenly spaced, covering it."""
    if zoom == 1:
        return [(0, side)]
    length = min(side, round(side * (1.0 / zoom + overlap)))
    return [(s, s + length) for s in (round(i * (side - length) / (zoom - 1)) for i in range(zoom))]
