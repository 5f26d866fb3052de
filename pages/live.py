"""Live: the browser's webcam, every face boxed and labelled by the active model as it happens.

Thin, as streamlit-webrtc's object-detection demo: the sidebar picks the model, detector and
threshold (app/live/controls, app/widgets/model_picker), webrtc_streamer sends each camera frame to this session's
core.live.processor.LiveProcessor (app/live/stream), whose callback only queues the frame and draws the
newest result; a worker thread runs the shared Predict pipeline (core.inference.predictor.Predictor).
Statistics leave the video thread through a queue, drained by an st.fragment once a second.
Changing a control swaps the processor's Predictor: the stream does not restart.
"""

from __future__ import annotations

import streamlit as st

from app.live.controls import choose
from app.live.snapshot import snapshot_button
from app.live.stream import CAMERA_ERRORS, CAMERA_HELP, rtc, session_processor, stats_panel, stream
from app.widgets.common import use_app_navigation
from app.widgets.model_picker import show_model
from app.widgets.target_project import project_target

use_app_navigation()


def main() -> None:
    st.title("Live")
    choice = choose()
    target = project_target(
        "live_snap",
        "snapshots",
        "Snapshot",
        "Save snapshots to project",
        choice.predictor.labels,
        relabel=True,
    )
    proc = session_processor()
    proc.set_predictor(choice.predictor)
    proc.set_every(choice.every)
    show_model(choice.model)
    settings = rtc()
    left, right = st.columns([3, 2])
    with left:
        stream(proc, settings)
        snapshot_button(proc, target)
        st.caption(
            "Press START and allow the camera. Boxes are drawn on the newest frame as soon as the "
            f"model has them; frames it cannot keep up with are skipped. {settings.describe()}"
        )
        st.caption(CAMERA_ERRORS)
        with st.expander("Camera, HTTPS and networks"):
            st.markdown(CAMERA_HELP)
    with right:
        stats_panel(proc)


main()
