"""Experiments: launch sweeps, watch the queue, compare runs side by side.

Runs train in a separate worker process (core.training.worker) and leave everything in their run
folder, so this page only reads files: leaving it and coming back shows the same state.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.experiments.compare import compare_section
from app.experiments.executor import queue_page
from app.experiments.launch import launch_section
from app.experiments.scenes import scene_section
from app.widgets.common import section_switch, show_flashes, use_app_navigation

use_app_navigation()

#: The page's sections, in order: add one here to add a section.
SECTIONS: dict[str, Callable[[], None]] = {
    "Launch": launch_section,
    "Queue": queue_page,
    "Compare": compare_section,
    "Scene test": scene_section,
}

st.title("Experiments")
show_flashes(st.container())
# A keyed section switch (also in the URL as ?section=...), not st.tabs: an action such as
# "Make active model" reruns into the section it was made in.
SECTIONS[section_switch(list(SECTIONS), key="exp_section")]()
