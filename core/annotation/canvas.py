"""Mapping between canvas drawings and stored boxes, and applying a drawing to a project.

The annotator shows each image scaled to fit the page. Boxes are stored in original-image
pixels; the canvas works in display pixels. `CanvasView` holds the two scale factors (one
per axis, so rounding the display size never skews a box) and converts both ways. Zoomed, it
shows a region of the image (an origin and a size in original pixels) on the same canvas;
`to_display` / `to_original` are the one mapping, and only the boxes in the region are shown,
so only they can be changed by a drawing.

The canvas returns every box it shows, the saved ones it was given first, in order, then the
ones the user drew. `apply_drawing` turns that list into changes: new boxes are checked
against the rules, moved or resized ones too (a refused move keeps the old box), boxes the
user removed on the canvas are deleted, and a relabelled chip changes the box's category.

A drawing is only meaningful against the boxes it was made on. `drawing_token` names what the
canvas shows (the image's boxes and the category list); the page keys the canvas by it, so any
change made outside the canvas remounts it from the saved file, and refuses to apply a drawing
whose token no longer matches the saved boxes (`StaleDrawing`).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from core.annotation.annotations import NONE, Annotations, Box, ImageAnnotations, check_box
from core.errors import BoxRejected, MaskStudioError
from core.overlay import caption_px, class_hex

#: Said when a drawing was made on boxes that have changed since (an import, another tab).
STALE_MESSAGE = (
    "The boxes of this image changed outside the canvas (an import, pre-annotation, another tab), "
    "so your last drawing was not applied. The canvas now shows the saved boxes: draw it again."
)


class StaleDrawing(MaskStudioError):
    """A drawing made on boxes that are no longer the saved ones; it was not applied."""

    def __init__(self) -> None:
        super().__init__(STALE_MESSAGE)


def drawing_token(ann: Annotations, image: str) -> str:
    """A short name for what the canvas of `image` shows: its boxes and the category list.

    Two annotations give the same token exactly when the canvas would show the same thing.
    """
    h = hashlib.sha1(usedforsecurity=False)
    h.update(repr(list(ann.categories)).encode())
    for b in ann.boxes(image):
        h.update(repr((b.xyxy, b.label)).encode())
    return h.hexdigest()[:12]


#: Tolerance in original pixels when deciding that a drawn box is an unchanged saved box.
MATCH_TOLERANCE = 1.0


#: The zoom factors the annotator offers: 1 shows the whole image, more a region of it.
ZOOMS = (1, 2, 4, 8)


@dataclass(frozen=True)
class CanvasView:
    """How a region of an image of `image_w` x `image_h` is shown on a `display_w` x `display_h`
    canvas.

    The region starts at (`x0`, `y0`) in original pixels and is `region_w` x `region_h` (0: the
    whole width or height). Without a region the whole image is shown.
    """

    image_w: int
    image_h: int
    display_w: int
    display_h: int
    x0: int = 0
    y0: int = 0
    region_w: int = 0
    region_h: int = 0

    @classmethod
    def fit(
        cls, image_w: int, image_h: int, max_w: int = 900, max_h: int = 650, max_zoom: float = 4.0
    ) -> CanvasView:
        """The largest display size within max_w x max_h keeping the aspect ratio.

        Small images are enlarged, at most `max_zoom` times, so small faces are easy to box.
        """
        scale = min(max_w / image_w, max_h / image_h, max_zoom)
        return cls(image_w, image_h, max(1, round(image_w * scale)), max(1, round(image_h * scale)))

    @classmethod
    def zoomed(
        cls,
        image_w: int,
        image_h: int,
        zoom: float,
        centre: tuple[float, float] | None = None,
        max_w: int = 900,
        max_h: int = 650,
        max_zoom: float = 4.0,
    ) -> CanvasView:
        """The canvas of `fit`, showing the region `zoom` times smaller than the image around
        `centre` (original pixels; the image centre when None), moved inside the image."""
        base = cls.fit(image_w, image_h, max_w, max_h, max_zoom)
        if not math.isfinite(zoom) or zoom <= 1:
            return base
        rw, rh = max(1, round(image_w / zoom)), max(1, round(image_h / zoom))
        cx, cy = centre if centre is not None else (image_w / 2, image_h / 2)
        x0 = min(max(round(cx - rw / 2), 0), image_w - rw) if math.isfinite(cx) else (image_w - rw) // 2
        y0 = min(max(round(cy - rh / 2), 0), image_h - rh) if math.isfinite(cy) else (image_h - rh) // 2
        return cls(image_w, image_h, base.display_w, base.display_h, x0, y0, rw, rh)

    @property
    def rw(self) -> int:
        """The shown region's width in original pixels."""
        return self.region_w or self.image_w

    @property
    def rh(self) -> int:
        """The shown region's height in original pixels."""
        return self.region_h or self.image_h

    @property
    def region(self) -> tuple[int, int, int, int]:
        """The shown region as (x1, y1, x2, y2) in original pixels."""
        return (self.x0, self.y0, self.x0 + self.rw, self.y0 + self.rh)

    @property
    def is_zoomed(self) -> bool:
        return self.region != (0, 0, self.image_w, self.image_h)

    @property
    def sx(self) -> float:
        return self.display_w / self.rw

    @property
    def sy(self) -> float:
        return self.display_h / self.rh

    def to_display(self, x: float, y: float) -> tuple[float, float]:
        """A point in original pixels as canvas (display) pixels."""
        return ((x - self.x0) * self.sx, (y - self.y0) * self.sy)

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        """A point in canvas (display) pixels as original pixels (the inverse of `to_display`)."""
        return (x / self.sx + self.x0, y / self.sy + self.y0)

    def shows(self, box: Box) -> bool:
        """Whether `box` is on the canvas: it overlaps the shown region (a box of no area counts
        when it touches it)."""
        x1, y1, x2, y2 = self.region
        if box.x1 >= x2 or box.y1 >= y2 or box.x2 <= x1 or box.y2 <= y1:
            return not self.is_zoomed  # every box is on an unzoomed canvas, even a degenerate one
        return True

    def to_canvas(self, box: Box) -> dict[str, Any]:
        """A saved box as a canvas box dict (left, top, width, height, label) in display pixels."""
        left, top = self.to_display(box.x1, box.y1)
        right, bottom = self.to_display(box.x2, box.y2)
        return {"label": box.label, "left": left, "top": top, "width": right - left, "height": bottom - top}

    def to_image(self, item: dict[str, Any]) -> tuple[float, float, float, float] | None:
        """A canvas box dict as (x1, y1, x2, y2) in original pixels, or None if malformed."""
        try:
            left, top = float(item["left"]), float(item["top"])
            width, height = float(item["width"]), float(item["height"])
        except (KeyError, TypeError, ValueError):
            return None
        if not all(math.isfinite(v) for v in (left, top, width, height)):
            return None
        x1, y1 = self.to_original(left, top)
        x2, y2 = self.to_original(left + width, top + height)
        return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


@dataclass
class DrawingChanges:
    """What applying a drawing did: counts plus a message per refused box."""

    added: int = 0
    moved: int = 0
    removed: int = 0
    relabelled: int = 0
    refused: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.moved or self.removed or self.relabelled)


def _close(a: tuple[float, float, float, float], b: Box) -> bool:
    return all(abs(u - v) <= MATCH_TOLERANCE for u, v in zip(a, b.xyxy, strict=True))


def apply_drawing(
    ann: Annotations,
    image: str,
    drawn: list[dict[str, Any]],
    view: CanvasView,
    default_label: str = NONE,
    *,
    made_on: str | None = None,
) -> DrawingChanges:
    """Apply the canvas's boxes (display pixels, saved ones first) to `image` in `ann`.

    Only the saved boxes the view shows (`CanvasView.shows`) were on the canvas, so only they
    can be moved, relabelled or removed by it; every other box stays as it is. The box rules
    are checked in original pixels against all the image's boxes.

    `made_on` is the `drawing_token` of the boxes the canvas was given; if `ann` no longer
    has them, nothing changes and `StaleDrawing` is raised.
    """
    if made_on is not None and drawing_token(ann, image) != made_on:
        raise StaleDrawing()
    every = ann.boxes(image)
    shown = [i for i, b in enumerate(every) if view.shows(b)]
    saved = [every[i] for i in shown]
    coords = [view.to_image(d) for d in drawn]
    labels = [strip_number(str(d.get("label") or "")) for d in drawn]
    changes = DrawingChanges()
    size = (view.image_w, view.image_h)

    # Which saved boxes are still on the canvas unchanged? Greedy, in order.
    placed = {i: c for i, c in enumerate(coords) if c is not None}  # drawn index -> its box
    unmatched_drawn = list(placed)
    kept: dict[int, int] = {}  # saved index -> drawn index
    for si, box in enumerate(saved):
        for di in unmatched_drawn:
            if _close(placed[di], box):
                kept[si] = di
                unmatched_drawn.remove(di)
                break

    new_boxes: list[Box | None] = list(every)  # the boxes not shown stay as they are
    lost = [si for si in range(len(saved)) if si not in kept]
    # A saved box that lost its match while a drawn box sits at the same position in the
    # list was moved or resized; anything else that lost its match was removed.
    moved_pairs = [(si, si) for si in lost if si in unmatched_drawn]
    for si, box in enumerate(saved):
        at = shown[si]
        if si in kept:
            new_boxes[at] = _relabel(box, labels[kept[si]], ann, changes)
        elif (si, si) in moved_pairs:
            unmatched_drawn.remove(si)
            candidate = Box.from_xyxy(placed[si], box.label, None, box.id).clipped(*size)
            others = [b for j, b in enumerate(every) if j != at]
            try:
                check_box(candidate, others)
                new_boxes[at] = _relabel(candidate, labels[si], ann, changes)
                changes.moved += 1
            except BoxRejected as exc:
                changes.refused.append(exc.message + " The box keeps its old place.")
        else:
            new_boxes[at] = None
            changes.removed += 1
    ann.images.setdefault(image, ImageAnnotations()).boxes = [b for b in new_boxes if b is not None]

    for di in unmatched_drawn:
        label = labels[di] if labels[di] in ann.categories else default_label
        try:
            ann.add_box(image, Box.from_xyxy(placed[di], label), image_size=size)
            changes.added += 1
        except BoxRejected as exc:
            changes.refused.append(exc.message)
    return changes


def _relabel(box: Box, label: str, ann: Annotations, changes: DrawingChanges) -> Box:
    if label and label != box.label and label in ann.categories:
        changes.relabelled += 1
        return box.with_label(label)
    return box


#: A saved box's caption on the canvas starts with its number ("#3 with_mask"), as in the list.
_NUMBER = re.compile(r"^#\d+ ")


def numbered(number: int, label: str) -> str:
    """The caption of box `number` (1-based) with `label` on the canvas."""
    return f"#{number} {label}"


def strip_number(caption: str) -> str:
    """The category in a canvas caption (a drawn box's caption has no number)."""
    return _NUMBER.sub("", caption, count=1)


#: Box captions on the canvas: between these sizes (px), scaled with the boxes.
LABEL_FONT_MIN, LABEL_FONT_MAX = 9, 14


def label_font_px(boxes: list[Box], view: CanvasView) -> int:
    """The caption size for these boxes on the canvas: the smallest `caption_px` among them."""
    shown = [b for b in boxes if view.shows(b)]
    if not shown:
        return LABEL_FONT_MAX
    return min(
        caption_px(b.width * view.sx, b.height * view.sy, len(b.label), LABEL_FONT_MIN, LABEL_FONT_MAX)
        for b in shown
    )


#: A saved box's outline on the canvas; a box kept on import although it breaks a box rule is
#: drawn dashed and thicker.
STROKE_WIDTH = 2
FLAGGED_STROKE: dict[str, Any] = {"strokeDashArray": [8, 5], "strokeWidth": 3}
#: The box selected in the face grid: a thick outline.
SELECTED_STROKE: dict[str, Any] = {"strokeWidth": 5}


def canvas_objects(boxes: list[Box], view: CanvasView, selected: str | None = None) -> list[dict[str, Any]]:
    """The Fabric.js objects (the canvas's LabeledRect) showing those of `boxes` the view shows:
    display pixels, the class colour of core.overlay, each caption ("#n label", n its number
    among all `boxes`) sized to its own box; the box with id `selected` drawn thicker."""
    objects = []
    for n, b in enumerate(boxes, 1):
        if not view.shows(b):
            continue
        d = view.to_canvas(b)
        objects.append(
            {
                "type": "LabeledRect",
                "label": numbered(n, b.label),
                "left": d["left"],
                "top": d["top"],
                "width": d["width"],
                "height": d["height"],
                "originX": "left",
                "originY": "top",
                "scaleX": 1,
                "scaleY": 1,
                "angle": 0,
                "stroke": class_hex(b.label),
                "strokeWidth": STROKE_WIDTH,
                "fill": "rgba(0, 0, 0, 0)",
                "lockRotation": True,
                "strokeUniform": True,
                **(FLAGGED_STROKE if b.flag else {}),
                **(SELECTED_STROKE if selected and b.id == selected else {}),
                "fontSize": label_font_px([b], view),
            }
        )
    return objects


def drawing_differs(
    boxes: list[Box], drawn: list[dict[str, Any]], view: CanvasView, categories: list[str]
) -> bool:
    """Whether a canvas drawing holds changes to `boxes` (the image's boxes when the canvas was
    mounted; it was given those `view` shows)."""
    scratch = Annotations(categories)
    scratch.images["_"] = ImageAnnotations(list(boxes))
    changes = apply_drawing(scratch, "_", drawn, view)
    return changes.changed or bool(changes.refused)
