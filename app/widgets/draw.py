"""Predict's pictures: faces drawn on an image (boxes in class colours from core.overlay, each
with its number in the results list; the labels and confidences are in the list, where they
never overlap), and the threshold-vs-coverage figure. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import plotly.graph_objects as go
from PIL import Image

from app.widgets.charts import SERIES_COLOURS
from core import overlay
from core.inference.predictor import UNCERTAIN, Face
from core.runs.thresholds import ThresholdReport, curve_window

#: Longest side of a drawn image: larger images are shrunk, smaller ones enlarged up to
#: MIN_SIDE (2x at most) so labels stay readable; boxes are scaled with the image.
MAX_SIDE = 1000
MIN_SIDE = 800


def draw_faces(image: Image.Image, faces: Sequence[Face]) -> Image.Image:
    """A copy of `image` (at most MAX_SIDE px) with each face boxed in its class colour and
    numbered 1, 2, ... in the order of `faces` (the order of the results list beside it)."""
    img = image.convert("RGB")
    long_side = max(img.size)
    scale = min(MAX_SIDE, max(long_side, min(MIN_SIDE, 2 * long_side))) / long_side
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    frame = np.array(img, dtype=np.uint8)
    return Image.fromarray(draw_numbered(frame, faces, scale))


Rect = tuple[int, int, int, int]


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def number_spots(
    boxes: Sequence[Rect], sizes: Sequence[tuple[int, int]], width: int, height: int
) -> list[Rect]:
    """Where each box's number tag goes: the first of above-left, inside top-left, below-left,
    above-right and inside bottom-right that stays in the picture and covers no tag placed
    before it (the first spot when all are taken)."""
    placed: list[Rect] = []
    for (x1, y1, x2, y2), (tw, th) in zip(boxes, sizes, strict=True):
        corners = [(x1, y1 - th), (x1, y1), (x1, y2), (x2 - tw, y1 - th), (x2 - tw, y2 - th)]
        spots = [
            (min(max(x, 0), max(width - tw, 0)), min(max(y, 0), max(height - th, 0))) for x, y in corners
        ]
        rects = [(x, y, x + tw, y + th) for x, y in spots]
        free = next((r for r in rects if not any(_overlaps(r, p) for p in placed)), rects[0])
        placed.append(free)
    return placed


def draw_numbered(frame: np.ndarray, faces: Sequence[Face], scale: float = 1.0) -> np.ndarray:
    """Each face's box (times `scale`) in its class colour with its number, in place."""
    h, w = frame.shape[:2]
    thick = overlay.line_width(max(h, w))
    largest = overlay.caption_max_px(max(h, w))
    boxes: list[Rect] = []
    tags: list[tuple[str, int]] = []
    for n, face in enumerate(faces, 1):
        x1, y1, x2, y2 = (round(v * scale) for v in face.xyxy)
        boxes.append((x1, y1, x2, y2))
        text = str(n)
        # a number is short: as tall as a third of the box, readable on the smallest faces
        tags.append((text, overlay.caption_px(x2 - x1, y2 - y1, 3, overlay.CAPTION_MIN_PX + 2, largest)))
    for face, (x1, y1, x2, y2) in zip(faces, boxes, strict=True):
        cv2.rectangle(frame, (x1, y1), (x2, y2), overlay.class_rgb(face.label), thick)
    sizes = [overlay.caption_size(text, px) for text, px in tags]
    for face, (text, px), spot in zip(faces, tags, number_spots(boxes, sizes, w, h), strict=True):
        overlay.draw_caption(frame, text, (spot[0], spot[1]), px, overlay.class_rgb(face.label))
    return frame


def threshold_figure(report: ThresholdReport, current: float | None = None) -> go.Figure:
    """Accuracy on the labelled faces and coverage against the threshold, with the suggestion
    (and the current slider value) marked."""
    xs = [p.threshold for p in report.points]
    x_lo, x_hi, y_lo = curve_window(report.points)
    fig = go.Figure()
    fig.add_scatter(
        x=xs,
        y=[p.accuracy for p in report.points],
        name="accuracy on labelled faces",
        mode="lines",
        line={"color": SERIES_COLOURS[0]},
    )
    fig.add_scatter(
        x=xs, y=[p.coverage for p in report.points], name="coverage (faces labelled)", mode="lines",
        line={"color": SERIES_COLOURS[1]},
    )  # fmt: skip
    s = report.suggestion
    fig.add_vline(
        x=s.threshold, line_dash="dash", line_color="#555",
        annotation_text=f"suggested {s.threshold:.2f}", annotation_position="bottom left",
    )  # fmt: skip
    if current is not None and abs(current - s.threshold) > 1e-9:
        fig.add_vline(x=current, line_dash="dot", line_color=overlay.class_hex(UNCERTAIN))
    fig.update_layout(
        title=f"Threshold vs coverage: {report.source} ({report.faces} faces)",
        xaxis_title="threshold (top probability needed to label a face)",
        yaxis_title="share",
        xaxis_range=[x_lo, x_hi],  # zoomed to where the curves move
        yaxis_range=[y_lo, 1.005],
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
