"""Plotly figure builders shared by pages: plain data in, a Plotly figure out (no Streamlit).

Every class keeps one colour across a page's charts (`class_colours`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

COLOURS = px.colors.qualitative.Safe
FORMAT_COLOURS = px.colors.qualitative.Pastel
HEIGHT = 320


def class_colours(classes: Sequence[str]) -> dict[str, str]:
    """{class: colour}, stable for a given class order."""
    return {c: COLOURS[i % len(COLOURS)] for i, c in enumerate(classes)}


def _style(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, height=HEIGHT, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    columns = ["label", "width", "height", "aspect", "format"]
    return pd.DataFrame(list(rows), columns=columns) if rows else pd.DataFrame(columns=columns)


def class_counts_figure(counts: Mapping[str, int], title: str = "Images per class") -> go.Figure:
    """Bars of images per class, each bar labelled with its count."""
    df = pd.DataFrame({"class": list(counts), "images": list(counts.values())})
    fig = px.bar(
        df,
        x="class",
        y="images",
        color="class",
        text="images",
        color_discrete_map=class_colours(list(counts)),
    )
    fig.update_layout(showlegend=False)
    return _style(fig, title)


def format_figure(rows: Sequence[Mapping[str, Any]], title: str = "File format per class") -> go.Figure:
    """Stacked bars: how many files of each format (JPEG, PNG, ...) each class holds."""
    df = _frame(rows)
    counts = df.groupby(["label", "format"]).size().reset_index(name="files")
    fig = px.bar(
        counts,
        x="label",
        y="files",
        color="format",
        text="files",
        color_discrete_sequence=FORMAT_COLOURS,
        labels={"label": "class"},
    )
    return _style(fig, title)


def _overlay_histogram(df: pd.DataFrame, x: str, classes: Sequence[str], title: str, label: str) -> go.Figure:
    fig = px.histogram(
        df,
        x=x,
        color="label",
        barmode="overlay",
        nbins=40,
        opacity=0.65,
        color_discrete_map=class_colours(classes),
        category_orders={"label": list(classes)},
        labels={x: label, "label": "class"},
    )
    return _style(fig, title)


def short_side_figure(
    rows: Sequence[Mapping[str, Any]], classes: Sequence[str], title: str = "Short side (px)"
) -> go.Figure:
    """Histogram of each image's shorter side, one overlaid colour per class."""
    df = _frame(rows)
    df["short side"] = df[["width", "height"]].min(axis=1)
    return _overlay_histogram(df, "short side", classes, title, "short side (px)")


def aspect_figure(
    rows: Sequence[Mapping[str, Any]], classes: Sequence[str], title: str = "Aspect (width / height)"
) -> go.Figure:
    """Histogram of width / height, one overlaid colour per class."""
    return _overlay_histogram(_frame(rows), "aspect", classes, title, "width / height")


def split_counts_figure(
    counts: Mapping[str, Mapping[str, int]], title: str = "Images per split"
) -> go.Figure:
    """Grouped bars of {split: {class: n}}: one group per split, one colour per class."""
    classes = list(dict.fromkeys(c for per in counts.values() for c in per))
    df = pd.DataFrame(
        [{"split": s, "class": c, "images": n} for s, per in counts.items() for c, n in per.items()]
    )
    fig = px.bar(
        df,
        x="split",
        y="images",
        color="class",
        barmode="group",
        text="images",
        color_discrete_map=class_colours(classes),
        category_orders={"class": classes},
    )
    return _style(fig, title)
