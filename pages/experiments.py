"""Experiments: launch sweeps, watch the queue, compare runs side by side.

Runs train in a separate worker process (core.worker) and leave everything in their run
folder, so this page only reads files: leaving it and coming back shows the same state.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.ui.common import show_flashes  # noqa: E402
from app.ui.experiments_compare import compare_section  # noqa: E402
from app.ui.experiments_launch import launch_section  # noqa: E402
from app.ui.experiments_queue import queue_section  # noqa: E402
from app.ui.experiments_scenes import scene_section  # noqa: E402

st.title("Experiments")
show_flashes()
tab_launch, tab_queue, tab_compare, tab_scenes = st.tabs(["Launch", "Queue", "Compare", "Scene test"])
with tab_launch:
    launch_section()
with tab_queue:
    queue_section()
with tab_compare:
    compare_section()
with tab_scenes:
    scene_section()
