"""Annotate: draw face boxes on a project's images and give each a category.

Every change is saved at once (atomic write); the page reloads the saved file on every run,
so a browser reload, a second tab or a crash never loses a saved box. The current project and
image are kept in the URL (?project=...&image=...), so a reload comes back to the same place.
"""

from __future__ import annotations

import streamlit as st

from app.annotate.boxes import CANVAS_DEFAULT_W, annotate_tab, bump_canvas
from app.annotate.history import history_bar, trash_panel
from app.annotate.io_section import categories_panel, import_export_panel
from app.annotate.project import choose_project, upload_images
from app.annotate.review_queue import review_section
from app.annotate.start_here import start_here_panel
from app.widgets.common import section_switch, show_error, show_flashes, use_app_navigation
from core.errors import MaskStudioError

use_app_navigation()

#: The page's sections, in order (Boxes: app/annotate/boxes.py; Review: app/annotate/review_queue.py).
SECTIONS = ["Boxes", "Categories", "Import / export", "Review"]

# ----- page ------------------------------------------------------------------------------
st.title("Annotate")
show_flashes(st.container())  # one fixed place: what follows keeps its position on every run
with st.container():  # the first-run guide, also in a fixed place
    start_here_panel()
project = choose_project()
trash_panel()
if project is None:
    st.write("Create a project in the sidebar, then add images to annotate.")
    st.stop()
upload_images(project)
st.sidebar.slider(
    "Canvas width (px)", 320, 1600, CANVAS_DEFAULT_W, step=20, key="canvas_width",
    help="How wide the image is shown. Boxes are always saved in the image's own pixels.",
)  # fmt: skip
# A keyed section switch, not st.tabs: an action in one section reruns into the same section,
# and only the shown section runs (the canvas is mounted afresh from the saved file on return).
history_bar(project, on_change=bump_canvas)
section = section_switch(SECTIONS, key="annotate_section")
if section == "Categories":
    categories_panel(project)
elif section == "Import / export":
    import_export_panel(project)
elif section == "Review":
    review_section(project)
else:
    try:
        annotate_tab(project)
    except MaskStudioError as exc:
        show_error(exc)
