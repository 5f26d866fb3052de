"""Live: the browser's webcam, every face boxed and labelled by the active model as it happens.

Thin, as streamlit-webrtc's object-detection demo: the sidebar picks the model, detector and
threshold (app/ui/live_controls), webrtc_streamer sends each camera frame to this session's
core.live.processor.LiveProcessor (app/ui/live_stream), whose callback only queues the frame and draws the
newest result; a worker thread runs the shared Predict pipeline (core.inference.predictor.Predictor).
Statistics leave the video thread through a queue, drained by an st.fragment once a second.
Changing a control swaps the processor's Predictor: the stream does not restart.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.ui.live_controls import choose  # noqa: E402
from app.ui.live_snapshot import SnapshotTarget, snapshot_button  # noqa: E402
from app.ui.live_stream import CAMERA_ERRORS, CAMERA_HELP, rtc, session_processor, stats_panel, stream  # noqa: E402


def main() -> None:
    st.title("Live")
    choice = choose()
    target = SnapshotTarget(choice.predictor.labels)
    proc = session_processor()
    proc.set_predictor(choice.predictor)
    proc.set_every(choice.every)
    if choice.classifier is None:
        st.info(choice.message, icon=":material/info:")
    else:
        st.caption(choice.message)
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
