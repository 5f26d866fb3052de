"""Plotly figure builders shared by pages: plain data in, a Plotly figure out (no Streamlit).

A class has its palette colour (core.overlay.class_colours) in every chart, as on the pictures;
series that are not classes (runs, models, curves) take SERIES_COLOURS in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.overlay import class_colours

#: Colours of series that are not classes: runs, models, curves.
SERIES_COLOURS = px.colors.qualitative.Plotly
FORMAT_COLOURS = px.colors.qualitative.Pastel
HEIGHT = 320
#: A horizontal legend at the figure's foot (rows as needed): the plot area and its axis titles
#: shrink to make room, so the legend never covers them.
LEGEND_BELOW = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0}
#: Characters per line of a long tick label (wrapped rather than rotated and cut).
TICK_WRAP = 14


def series_colour(i: int) -> str:
    """The colour of the i-th series of a chart."""
    return SERIES_COLOURS[i % len(SERIES_COLOURS)]


def wrapped(label: str, width: int = TICK_WRAP) -> str:
    """`label` on lines of at most `width` characters, broken at spaces and hyphens (Plotly's
    <br>); a longer word stays whole."""
    lines = [""]
    for piece in re.split(r"(?<=[\s-])", label):  # each piece ends at a space or hyphen
        if lines[-1] and len(lines[-1]) + len(piece.rstrip()) > width:
            lines.append("")
        lines[-1] += piece
    return "<br>".join(line.strip() for line in lines)


def _style(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, height=HEIGHT, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    columns = ["label", "width", "height", "aspect", "format"]
    return pd.DataFrame(list(rows), columns=columns) if rows else pd.DataFrame(columns=columns)


def _bars(df: pd.DataFrame, x: str, y: str, colour: str, **style: Any) -> go.Figure:
    """Bars of `y` per `x`, coloured by column `colour`, each bar labelled with its value."""
    return px.bar(df, x=x, y=y, color=colour, text=y, **style)


def class_counts_figure(counts: Mapping[str, int], title: str = "Images per class") -> go.Figure:
    """Bars of images per class, each bar labelled with its count."""
    df = pd.DataFrame({"class": list(counts), "images": list(counts.values())})
    fig = _bars(df, "class", "images", "class", color_discrete_map=class_colours(counts))
    fig.update_layout(showlegend=False)
    return _style(fig, title)


def format_figure(rows: Sequence[Mapping[str, Any]], title: str = "File format per class") -> go.Figure:
    """Stacked bars: how many files of each format (JPEG, PNG, ...) each class holds."""
    counts = _frame(rows).groupby(["label", "format"]).size().reset_index(name="files")
    fig = _bars(
        counts, "label", "files", "format", color_discrete_sequence=FORMAT_COLOURS, labels={"label": "class"}
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
    fig = _bars(
        df,
        "split",
        "images",
        "class",
        barmode="group",
        color_discrete_map=class_colours(classes),
        category_orders={"class": classes},
    )
    return _style(fig, title)
