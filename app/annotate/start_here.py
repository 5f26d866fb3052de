"""The first-run guide: a short "Start here" panel on the landing page while no run exists."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.widgets.common import ROOT
from core.annotation.projects import list_projects
from core.runs.starter import starter_status
from core.runs.store import run_ids

PAGES = ROOT / "pages"

#: The two ways in, as (step text, page file, link label) rows.
ANNOTATE_PATH = [
    (
        "Create a project in the sidebar, add photos, pre-annotate the faces and label them",
        "annotate.py",
        "Annotate",
    ),
    ("Build a crop dataset from the project, then split it", "dataset.py", "Datasets"),
    (
        "Train a model (LeNet, 1 epoch, takes a minute), then make it active in Compare",
        "experiments.py",
        "Experiments",
    ),
    ("Try it on photos, or on your webcam", "predict.py", "Predict"),
]
FOLDER_PATH = [
    ("Import a folder dataset (a ZIP with one folder per class), then split it", "dataset.py", "Datasets"),
    ("Train a model, then make it active in Compare", "experiments.py", "Experiments"),
    ("Try it on photos, or on your webcam", "predict.py", "Predict"),
]


def _link(col, file: str, label: str) -> None:
    try:
        col.page_link(str(PAGES / file), label=label, icon=":material/arrow_forward:")
    except StreamlitAPIException:  # the page is run on its own (tests): no navigation
        col.markdown(f"→ **{label}**")


def start_here_panel() -> None:
    """Shown while the workspace has no run; gone once one exists."""
    if run_ids():  # not list_runs: this runs on every rerun of Annotate
        return
    fresh = not list_projects()  # open on an empty workspace, a click away once a project exists
    title = "**Start here**: two ways from photos to a mask detector"
    with st.expander(title, expanded=fresh, icon=":material/flag:"):
        left, right = st.columns(2)
        for col, title, steps in (
            (left, "**A. Annotate your own scenes**", ANNOTATE_PATH),
            (right, "**B. Start from a folder dataset**", FOLDER_PATH),
        ):
            col.markdown(title)
            for n, (text, file, label) in enumerate(steps, 1):
                c_text, c_link = col.columns([4, 2], vertical_alignment="center")
                c_text.markdown(f"{n}. {text}")
                _link(c_link, file, label)
        if starter_status().available:
            c_text, c_link = st.columns([5, 1], vertical_alignment="center")
            c_text.markdown(
                "**Or try it now:** the app ships a starter model (trained on public photos), so "
                "Predict and Live classify faces before you train anything."
            )
            try:
                c_link.page_link(str(PAGES / "predict.py"), label="Try Predict now", icon=":material/bolt:")
            except StreamlitAPIException:  # the page is run on its own (tests): no navigation
                c_link.markdown("→ **Try Predict now**")
        st.caption("This guide goes away once a model has been trained.")
