"""Predict's pictures: faces drawn on an image (core.overlay: colour by class, label and
confidence), and the threshold-vs-coverage figure. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from app.ui.charts import SERIES_COLOURS
from core import overlay
from core.inference.predictor import UNCERTAIN, Face
from core.runs.thresholds import ThresholdReport, curve_window

#: Longest side of a drawn image: larger images are shrunk, smaller ones enlarged up to
#: MIN_SIDE (2x at most) so labels stay readable; boxes are scaled with the image.
MAX_SIDE = 1000
MIN_SIDE = 800


def draw_faces(image: Image.Image, faces: Sequence[Face]) -> Image.Image:
    """A copy of `image` (at most MAX_SIDE px) with each face boxed and captioned in its class colour."""
    img = image.convert("RGB")
    long_side = max(img.size)
    scale = min(MAX_SIDE, max(long_side, min(MIN_SIDE, 2 * long_side))) / long_side
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    frame = np.array(img, dtype=np.uint8)
    return Image.fromarray(overlay.draw_faces(frame, faces, (scale, scale)))


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
