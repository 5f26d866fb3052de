"""The scene test's figures and table: models side by side, scene metrics beside crop test
metrics, and a photo drawn with its outcomes (core.overlay). Plain data in, Plotly/PIL out (no Streamlit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import plotly.graph_objects as go
from PIL import Image

from app.widgets.charts import LEGEND_BELOW, series_colour, wrapped
from app.widgets.draw import draw_faces
from core import overlay
from core.inference.scene_scores import MISSED, WRONG, PhotoScore
from core.inference.scenes import ModelScore
from core.overlay import RGB

MISSED_COLOUR = "#ffffff"  # a missed labelled face: white dashes on a black outline
LEAKED = " (leaked)"


def model_name(score: ModelScore, allow_leaks: bool = False) -> str:
    """The model's name, marked when some photos were in its training data."""
    return score.entry.name + (LEAKED if score.leaks and allow_leaks else "")


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def metric_points(scores: Sequence[ModelScore], allow_leaks: bool = False) -> list[dict[str, Any]]:
    """Long rows {model, metric, value}: found-and-right per class, accuracy on found faces,
    detector recall and precision, and the crop test accuracy (scored models only)."""
    rows: list[dict[str, Any]] = []
    for score in scores:
        report = score.report
        if report is None:
            continue
        name = model_name(score, allow_leaks)
        values: list[tuple[str, float | None]] = [
            (f"found & right: {cls}", value) for cls, value in report.found_and_right.items()
        ]
        values += [
            ("accuracy on found faces", report.accuracy_on_found),
            ("detector recall", report.detector_recall),
            ("detector precision", report.detector_precision),
            ("crop test accuracy", _num(score.entry.crop_metrics.get("accuracy"))),
        ]
        rows += [{"model": name, "metric": m, "value": v} for m, v in values if v is not None]
    return rows


def scene_figure(scores: Sequence[ModelScore], title: str, allow_leaks: bool = False) -> go.Figure:
    """Grouped bars, one colour per model, one group per metric (0..1; tick labels wrapped)."""
    rows = metric_points(scores, allow_leaks)
    fig = go.Figure()
    models = list(dict.fromkeys(r["model"] for r in rows))
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    for i, model in enumerate(models):
        by_metric = {r["metric"]: r["value"] for r in rows if r["model"] == model}
        ys = [by_metric.get(m) for m in metrics]
        fig.add_bar(
            x=[wrapped(m) for m in metrics],
            y=ys,
            name=model,
            marker_color=series_colour(i),
            text=[None if y is None else f"{y:.2f}" for y in ys],
            textposition="outside",
        )
    fig.update_layout(
        title=title,
        barmode="group",
        yaxis_title="share",
        yaxis_range=[0, 1.1],
        height=420,
        margin={"l": 40, "r": 10, "t": 50, "b": 10},
        legend=LEGEND_BELOW,
        showlegend=True,  # names the model even when there is one
    )
    fig.update_xaxes(tickangle=0)
    return fig


def _r(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def scene_rows(scores: Sequence[ModelScore], allow_leaks: bool = False) -> list[dict[str, Any]]:
    """One row per model: crop test metrics beside scene metrics (None where not scored)."""
    classes = list(dict.fromkeys(c for s in scores if s.report for c in s.report.per_class))
    rows = []
    for score in scores:
        crop = score.entry.crop_metrics
        report = score.report
        row: dict[str, Any] = {
            "model": model_name(score, allow_leaks),
            "crop dataset": crop.get("dataset") or crop.get("dataset_version") or "",
            "crop test accuracy": _r(_num(crop.get("accuracy"))),
            "crop macro-F1": _r(_num(crop.get("macro_f1"))),
        }
        for cls in classes:
            value = report.found_and_right.get(cls) if report else None
            row[f"found & right: {cls}"] = _r(value)
        row.update(
            {
                "accuracy on found": _r(report.accuracy_on_found) if report else None,
                "detector recall": _r(report.detector_recall) if report else None,
                "detector precision": _r(report.detector_precision) if report else None,
                "false detections": report.false_detections if report else None,
                "threshold": _r(report.threshold) if report else None,
                "leaked photos": len(score.leaks),
                "note": score.error or "",
            }
        )
        rows.append(row)
    return rows


def error_summary(photo: PhotoScore) -> str:
    """'2 missed, 1 wrong, 1 false detection' for a photo."""
    counts: dict[str, int] = {}
    for t in photo.truths:
        if t.outcome in (WRONG, "uncertain", MISSED):
            counts[t.outcome] = counts.get(t.outcome, 0) + 1
    parts = [f"{n} {k}" for k, n in counts.items()]
    if photo.false:
        parts.append(f"{len(photo.false)} false detection" + ("s" if len(photo.false) > 1 else ""))
    return ", ".join(parts) or "no errors"


def draw_scene(image: Image.Image, photo: PhotoScore) -> Image.Image:
    """The photo with the model's faces in class colours (as on Predict), every labelled face it
    missed dashed and captioned 'missed: <class>', and the true class under each wrong answer."""
    drawn = draw_faces(image, photo.faces)
    scale = drawn.width / image.width
    frame = np.array(drawn, dtype=np.uint8)
    h, w = frame.shape[:2]
    width = overlay.line_width(max(h, w))
    px = overlay.caption_max_px(max(h, w))
    white = overlay.hex_to_rgb(MISSED_COLOUR)
    for truth in photo.truths:
        if truth.outcome not in (MISSED, WRONG):
            continue
        x1, y1, x2, y2 = (round(v * scale) for v in truth.xyxy)
        if truth.outcome == MISSED:
            cv2.rectangle(frame, (x1, y1), (x2, y2), (0, 0, 0), width + 2)
            _dashed(frame, (x1, y1, x2, y2), white, width)
        text = f"{'missed' if truth.outcome == MISSED else 'truth'}: {truth.label}"
        _, text_h = overlay.caption_size(text, px)
        overlay.draw_caption(frame, text, (x1, min(y2 + 1, h - text_h)), px, (0, 0, 0), white)
    return Image.fromarray(frame)


def _dashed(
    frame: np.ndarray, xyxy: tuple[int, int, int, int], colour: RGB, width: int, dash: int = 8
) -> None:
    x1, y1, x2, y2 = xyxy
    for a, b, fixed, horizontal in (
        (x1, x2, y1, True),
        (x1, x2, y2, True),
        (y1, y2, x1, False),
        (y1, y2, x2, False),
    ):
        for pos in range(a, b, 2 * dash):
            end = min(pos + dash, b)
            start, stop = ((pos, fixed), (end, fixed)) if horizontal else ((fixed, pos), (fixed, end))
            cv2.line(frame, start, stop, colour, width)
