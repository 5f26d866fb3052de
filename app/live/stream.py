"""Live's video: the webrtc_streamer wired to the session's LiveProcessor, and the statistics
panel (an st.fragment that drains the processor's sample queue once a second).

As in streamlit-webrtc's object-detection demo, the frame callback never calls st.*: results
leave the video thread through a queue.Queue (LiveProcessor.samples).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from app.widgets.charts import LEGEND_BELOW
from app.widgets.common import show_error
from core.errors import IceConfigError
from core.live.processor import LiveProcessor
from core.live.rtc import SECRETS_SECTION, RtcSettings, default_settings, preload_srtp, rtc_settings
from core.live.stats import LiveSample, LiveStats

preload_srtp()  # before streamlit_webrtc imports aiortc: see core.live.rtc.preload_srtp
from streamlit_webrtc import WebRtcMode, webrtc_streamer  # noqa: E402

STREAM_KEY = "live"
PROCESSOR_KEY = "live_processor"
HISTORY_KEY = "live_history"
#: Seconds of samples the chart shows.
CHART_S = 60.0
REFRESH_S = 1.0
CHART_POINTS = 300
#: The callback runs in aiortc's receive path (no hand-over thread): it only queues the frame and
#: draws, and every camera frame is shown with the newest boxes (benchmarks/live.py compares it
#: with async_processing=True).
ASYNC_PROCESSING = False
MEDIA_CONSTRAINTS: dict[str, Any] = {"video": True, "audio": False}
VIDEO_ATTRS: dict[str, Any] = {"autoPlay": True, "controls": False, "muted": True, "style": {"width": "100%"}}
#: The component's own messages, made to say what to do. START / STOP / SELECT DEVICE keep
#: their default names.
TRANSLATIONS = {
    "media_api_not_available": "This page cannot use a camera: browsers offer cameras only to pages "
    "served over https:// or from localhost. Open the app as http://localhost:8501 on this "
    "machine, or serve it over HTTPS.",
    "device_ask_permission": "Allow the camera when the browser asks.",
    "device_not_available": "No camera found: connect one (or close the app that holds it), then "
    "press START again",
    "device_access_denied": "Camera access was denied: allow it in the browser's site settings "
    "(the camera icon in the address bar), then press START again",
}
#: What the browser's errors in the video area mean (the component shows them as they come).
CAMERA_ERRORS = (
    "**NotAllowedError** in the video area: the camera was denied; allow it in the site settings "
    "(the camera icon in the address bar) and press START again. **NotFoundError**: no camera is "
    "connected. **NotReadableError**: another app is using the camera. No camera offered at all: "
    "the page is not on https:// or localhost (see below)."
)
CAMERA_HELP = (
    "**Why HTTPS or localhost?** Browsers give a page the camera only in a *secure context*: "
    "`https://…`, or `http://localhost` / `http://127.0.0.1` on the machine that runs the browser. "
    "Opened as `http://<another address>`, the page gets no camera at all. **Denied or missing "
    "camera:** the video area says so after START; allow the camera in the site settings (the "
    "camera icon in the address bar), or connect one, then press START again. **Another "
    "network:** the browser and this server then need a STUN/TURN server to meet; set "
    "`MASK_STUDIO_ICE_SERVERS` or `[webrtc] ice_servers` in `.streamlit/secrets.toml` (see the "
    "README). By default none is used and nothing outside this machine is contacted."
)


def session_processor() -> LiveProcessor:
    """This browser session's LiveProcessor (one per session: two tabs never share frames)."""
    proc = st.session_state.get(PROCESSOR_KEY)
    if proc is None:
        proc = LiveProcessor(async_hop=ASYNC_PROCESSING)
        st.session_state[PROCESSOR_KEY] = proc
    return proc


def _secrets() -> Mapping[str, Any] | None:
    """The [webrtc] table of .streamlit/secrets.toml, or None (no file, no table)."""
    if not st.secrets.load_if_toml_exists():
        return None
    section = st.secrets.get(SECRETS_SECTION)
    return None if section is None else {SECRETS_SECTION: section}


def rtc() -> RtcSettings:
    """The ICE servers to use; an invalid setting is reported and replaced by none."""
    try:
        return rtc_settings(os.environ, _secrets())
    except IceConfigError as exc:
        show_error(exc, "ICE servers ignored, using none: ")
        return default_settings()


def stream(proc: LiveProcessor, settings: RtcSettings) -> Any:
    """The webrtc_streamer (its context), with the explicit ICE list for browser and server."""
    return webrtc_streamer(
        key=STREAM_KEY,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=settings.configuration,
        media_stream_constraints=MEDIA_CONSTRAINTS,
        video_frame_callback=proc.recv,
        on_video_ended=proc.end_stream,
        async_processing=ASYNC_PROCESSING,
        translations=TRANSLATIONS,
        video_html_attrs=VIDEO_ATTRS,
    )


def _history() -> deque[LiveSample]:
    return st.session_state.setdefault(HISTORY_KEY, deque(maxlen=4000))


def stats_figure(samples: list[LiveSample]) -> go.Figure:
    """Processed FPS (top) and per-frame latency (bottom) over the last CHART_S seconds, built
    from plain dicts (make_subplots is far slower, under the GIL the video thread needs)."""
    if len(samples) > CHART_POINTS:  # a light chart: every k-th sample, the newest kept
        step = -(-len(samples) // CHART_POINTS)
        samples = samples[::-1][::step][::-1]
    t_end = samples[-1].t if samples else 0.0
    x = [round(s.t - t_end, 2) for s in samples]
    traces = [
        ("processed FPS", [s.fps for s in samples], "y"),
        ("shown FPS", [s.video_fps for s in samples], "y"),
        ("latency ms", [round(s.latency_ms, 1) for s in samples], "y2"),
        (
            "video lag ms",
            [None if s.video_lag_ms is None else round(s.video_lag_ms, 1) for s in samples],
            "y2",
        ),
    ]
    data = [
        {"type": "scatter", "mode": "lines", "name": n, "x": x, "y": y, "yaxis": ax} for n, y, ax in traces
    ]
    layout = {
        "height": 360,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "legend": LEGEND_BELOW,
        "xaxis": {"anchor": "y2", "title": {"text": "seconds (0 = now)"}},
        "yaxis": {"domain": [0.56, 1.0], "title": {"text": "FPS"}, "rangemode": "tozero"},
        "yaxis2": {"domain": [0.0, 0.44], "title": {"text": "ms"}, "rangemode": "tozero"},
    }
    return go.Figure({"data": data, "layout": layout})


#: The statistics tiles' tooltips.
METRIC_HELP = {
    "fps": "Frames the model processed per second, over the last few seconds.",
    "latency": "Median time from a frame's arrival to its boxes being ready (waiting + inference), "
    "since the last reset.",
    "lag": "95th percentile of how much later than the stream's quickest frame a frame left the "
    "server, since the last reset.",
    "faces": "Faces boxed on the newest processed frame.",
}


def _metric_text(value: float | None, unit: str, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f} {unit}"


def stats_body(proc: LiveProcessor) -> None:
    """Metrics, the live chart and the statistics JSON (drains the processor's queue)."""
    history = _history()
    history.extend(proc.drain())
    recent = [s for s in history if history and history[-1].t - s.t <= CHART_S]
    stats = proc.stats()
    if not history and not stats.frames_shown:  # nothing streamed yet: no empty charts
        st.info("Press **START**: the speed, latency and face counts appear here once frames arrive.")
        _stats_json(stats)
        return
    last = recent[-1] if recent else None
    tiles = [
        ("Processed FPS", _metric_text(stats.processed_fps_now, "FPS", 1), METRIC_HELP["fps"]),
        ("Latency p50", _metric_text(stats.latency_ms.p50, "ms"), METRIC_HELP["latency"]),
        ("Video lag p95", _metric_text(stats.video_lag_ms.p95, "ms"), METRIC_HELP["lag"]),
        ("Faces (last frame)", "–" if last is None else str(last.faces), METRIC_HELP["faces"]),
    ]
    for row in (tiles[:2], tiles[2:]):  # a 2 x 2 grid: each value has room beside the video
        for col, (label, value, help_text) in zip(st.columns(2), row, strict=True):
            col.metric(label, value, help=help_text)
    st.caption(
        f"Processed {stats.frames_processed} of {stats.frames_shown} frames · "
        f"{stats.faces_found} faces boxed, {stats.faces_classified} classified on their "
        f"frame (the others kept a followed face's label) · stale frames dropped: "
        f"{stats.frames_dropped}"
    )
    if st.button("Reset statistics", key="live_reset", help="Start the statistics and the chart again."):
        proc.reset_stats()
        history.clear()
        stats = proc.stats()
    if proc.error:
        st.warning(proc.error, icon=":material/warning:")
    st.plotly_chart(stats_figure(recent), key="live_chart", config={"displayModeBar": False})
    _stats_json(stats)


def _stats_json(stats: LiveStats) -> None:
    with st.expander("Stream statistics (JSON)"):
        st.code(json.dumps(stats.as_dict(), indent=1), language="json")
        st.caption(
            "latency: frame arrival → boxes ready (waiting + inference); video lag: how much later "
            "than the stream's quickest frame a frame left the server (RTP time stamps against the "
            "arrival clock); since the last reset or setting change."
        )


def stats_panel(proc: LiveProcessor) -> None:
    """stats_body, refreshed every REFRESH_S (an st.fragment: the rest of the page is not rerun).

    Always, not only while the component says it plays: the page learns "playing" from a rerun
    the component asks for, which can come late or never, and statistics tied to it would then
    stay at zero while the video runs. An idle refresh is cheap.
    """
    st.fragment(stats_body, run_every=REFRESH_S)(proc)
