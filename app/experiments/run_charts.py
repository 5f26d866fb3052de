"""Plotly figures comparing training runs. Pure functions: records in, figures out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.express as px
import plotly.graph_objects as go

from app.widgets.charts import LEGEND_BELOW, series_colour, wrapped
from core.runs.experiments import chart_labels, run_name
from core.runs.store import RunRecord


def _layout(fig: go.Figure, title: str, y_title: str = "", x_title: str = "") -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=LEGEND_BELOW,
        margin={"l": 40, "r": 10, "t": 50, "b": 10},
        height=400,
    )
    return fig


def record_labels(records: Sequence[RunRecord]) -> list[str]:
    """The runs' chart labels (core.runs.experiments.chart_labels): name, else model and short id."""
    return chart_labels([(r.run_id, run_name(r)) for r in records])


def curves_figure(records: Sequence[RunRecord], metric: str = "accuracy") -> go.Figure:
    """Validation `metric` per epoch (solid) and training `metric` (dashed), one colour per run;
    a legend entry per run (it shows or hides both of its curves)."""
    fig = go.Figure()
    for i, (r, label) in enumerate(zip(records, record_labels(records), strict=True)):
        colour = series_colour(i)
        epochs = [row.get("epoch") for row in r.history]
        shown = False
        for key, dash, suffix in ((f"val_{metric}", "solid", "validation"), (metric, "dash", "training")):
            ys = [row.get(key) for row in r.history]
            if not any(isinstance(y, (int, float)) for y in ys):
                continue
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=ys,
                    mode="lines+markers",
                    name=label,
                    line={"color": colour, "dash": dash},
                    legendgroup=r.run_id,
                    showlegend=not shown,
                    hovertemplate=f"%{{fullData.name}} · {suffix}<br>epoch %{{x}}: %{{y:.3f}}"
                    f"<br>run {r.run_id}<extra></extra>",
                )
            )
            shown = True
    return _layout(
        fig, f"{metric.capitalize()} per epoch (validation solid, training dashed)", metric, "epoch"
    )


def final_metrics_figure(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Grouped bars: best validation accuracy, test accuracy and test macro-F1 per run, each run
    under its chart label (wrapped, never rotated)."""
    fig = go.Figure()
    labels = chart_labels([(r["run"], r.get("name") or "") for r in rows])
    ticks = [wrapped(_escape(label)) for label in labels]
    for key, title in (
        ("best_val_accuracy", "best validation accuracy"),
        ("test_accuracy", "test accuracy"),
        ("test_macro_f1", "test macro-F1"),
    ):
        fig.add_trace(
            go.Bar(
                x=ticks,
                y=[r.get(key) for r in rows],
                name=title,
                customdata=[r["run"] for r in rows],
                hovertemplate=f"{title}: %{{y:.3f}}<br>run %{{customdata}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="group", yaxis_range=[0, 1])
    fig.update_xaxes(tickangle=0)
    return _layout(fig, "Final metrics", "score")


def sweep_figure(points: Sequence[dict[str, Any]], key: str) -> go.Figure:
    """The swept parameter on x; validation (solid) and test (dashed) accuracy; a line per model."""
    fig = go.Figure()
    models = sorted({str(p["model"]) for p in points})
    categorical = any(not isinstance(p[key], (int, float)) or isinstance(p[key], bool) for p in points)
    for i, model in enumerate(models):
        pts = [p for p in points if str(p["model"]) == model]
        xs = [str(p[key]) if categorical else p[key] for p in pts]
        colour = series_colour(i)
        for metric, dash, suffix in (
            ("best_val_accuracy", "solid", "validation"),
            ("test_accuracy", "dash", "test"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[p[metric] for p in pts],
                    mode="lines+markers",
                    name=f"{model} · {suffix}",
                    line={"color": colour, "dash": dash},
                    customdata=[p["run"] for p in pts],
                    hovertemplate="%{x}: %{y:.3f} (run %{customdata})<extra></extra>",
                )
            )
    if key in ("batch_size", "neurons") and not categorical:
        fig.update_xaxes(type="log")
    return _layout(fig, f"Accuracy vs {key}", "accuracy", key)


def confusion_figure(record: RunRecord, title: str) -> go.Figure | None:
    """The test-split confusion matrix (rows true, columns predicted) under `title` (the run's
    chart label), or None if not finished."""
    m = record.metrics or {}
    matrix, classes = m.get("confusion_matrix"), m.get("classes")
    if not matrix or not classes:
        return None
    fig = px.imshow(
        matrix,
        x=classes,
        y=classes,
        text_auto=True,
        color_continuous_scale="Blues",
        labels={"x": "predicted", "y": "true", "color": "images"},
        aspect="auto",
    )
    fig.update_layout(
        title=title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        coloraxis_showscale=False,
    )
    return fig


def figures_html(figures: Sequence[tuple[str, go.Figure]]) -> bytes:
    """One standalone HTML page (plotly.js embedded, works offline) holding every figure."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Mask Studio comparison</title></head><body>"
    ]
    for i, (title, fig) in enumerate(figures):
        parts.append(f"<h2>{_escape(title)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
