"""Predict's pictures: faces drawn on an image (colour by class, label and confidence), and the
threshold-vs-coverage figure. Plain PIL and Plotly: no Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from app.ui.common import PALETTE
from core.captions import caption_px
from core.inference.predictor import FACE, UNCERTAIN, Face
from core.runs.thresholds import ThresholdReport, curve_window

UNCERTAIN_COLOUR = "#f9a825"  # amber: look again
FACE_COLOUR = "#1565c0"
#: Longest side of a drawn image: larger images are shrunk, smaller ones enlarged up to
#: MIN_SIDE (2x at most) so labels stay readable; boxes are scaled with the image.
MAX_SIDE = 1000
MIN_SIDE = 800


def label_colours(labels: Sequence[str]) -> dict[str, str]:
    """{label: colour}: one per class in model order (grey is kept for "None"), amber for uncertain."""
    colours = {label: PALETTE[1 + i % (len(PALETTE) - 1)] for i, label in enumerate(labels)}
    colours[UNCERTAIN] = UNCERTAIN_COLOUR
    colours.setdefault(FACE, FACE_COLOUR)
    return colours


def caption(face: Face) -> str:
    """The text drawn on a box: label and confidence (the detector score when no model ran)."""
    if face.label == UNCERTAIN:
        return f"uncertain ({face.top_label} {face.confidence:.2f})"
    return f"{face.label} {face.confidence:.2f}"


def draw_faces(image: Image.Image, faces: Sequence[Face], colours: dict[str, str]) -> Image.Image:
    """A copy of `image` (at most MAX_SIDE px) with each face boxed and captioned in its class colour."""
    img = image.convert("RGB")
    long_side = max(img.size)
    scale = min(MAX_SIDE, max(long_side, min(MIN_SIDE, 2 * long_side))) / long_side
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    else:
        img = img.copy()
    draw = ImageDraw.Draw(img)
    width = max(2, round(max(img.size) / 300))
    largest = max(11, round(max(img.size) / 45))
    for face in faces:
        colour = colours.get(face.label, FACE_COLOUR)
        x1, y1, x2, y2 = (v * scale for v in face.xyxy)
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=width)
        text = caption(face)
        # The canvas's caption rule (core.captions): small faces get small captions.
        font = ImageFont.load_default(size=caption_px(x2 - x1, y2 - y1, len(text), 10, largest))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left + 6, bottom - top + 4
        ty = y1 - th if y1 - th >= 0 else min(y2, img.height - th)
        tx = min(max(x1, 0), max(img.width - tw, 0))
        draw.rectangle([tx, ty, tx + tw, ty + th], fill=colour)
        draw.text((tx + 3 - left, ty + 2 - top), text, fill="white", font=font)
    return img


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
        line={"color": PALETTE[1]},
    )
    fig.add_scatter(
        x=xs, y=[p.coverage for p in report.points], name="coverage (faces labelled)", mode="lines",
        line={"color": PALETTE[3]},
    )  # fmt: skip
    s = report.suggestion
    fig.add_vline(
        x=s.threshold, line_dash="dash", line_color="#555",
        annotation_text=f"suggested {s.threshold:.2f}", annotation_position="bottom left",
    )  # fmt: skip
    if current is not None and abs(current - s.threshold) > 1e-9:
        fig.add_vline(x=current, line_dash="dot", line_color=UNCERTAIN_COLOUR)
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
