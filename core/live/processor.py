"""Live video through the Predict pipeline, without letting a slow model delay the video.

    camera frame -> LiveProcessor.recv (the video thread; returns at once)
        1. the frame goes into a one-slot holder; an older frame still waiting there is dropped
        2. the newest finished result (boxes, labels) and an FPS/latency line are drawn on
           THIS frame, which is returned: the video runs at camera rate whatever the model costs
    worker thread: Predictor.run(newest frame, the stream's LabelMemory) -> newest result, and
        a LiveSample for the page; faces followed from frame to frame are classified on one
        frame in `every` (core.inference.tracking), new or moving faces at once

A streamlit-webrtc callback that runs the model itself can only return the last *processed*
frame, so the picture lags by the inference time. Here only the boxes are late, by the
processing latency, and the overlay says by how much. Controls are applied by swapping the
immutable Predictor (`set_predictor`) between two frames: the stream never restarts. One
LiveProcessor serves one stream; a shared Classifier serialises its own calls.
"""

from __future__ import annotations

import gc
import io
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image

from core.annotation.annotations import NONE
from core.annotation.projects import Project
from core.captions import caption_px
from core.errors import ClassifierError, LiveError, MaskStudioError
from core.inference.predict_io import SendReport, category_for, send_to_annotator
from core.inference.predictor import FACE, UNCERTAIN, Face, FrameResult, Predictor
from core.inference.tracking import DEFAULT_EVERY, LabelMemory, check_every
from core.vision.detections import as_rgb_frame

if TYPE_CHECKING:
    import av

LOGGER = logging.getLogger(__name__)

#: The detector Live starts with: CenterFace at 256x192 (core.vision.detectors.CENTERFACE_LIVE), about a
#: tenth of the full CenterFace's work; webcam faces are large. benchmarks/live.py measures it.
DEFAULT_LIVE_DETECTOR = "centerface-live"
#: Boxes older than this (seconds) are not drawn: they would sit beside the faces.
STALE_S = 1.0
#: Processed and shown FPS are counted over this sliding window (seconds).
FPS_WINDOW_S = 2.0
#: The worker thread ends after this long without frames (a stream closed without notice).
IDLE_S = 5.0
#: LiveSamples kept for the page between two reads (the oldest are dropped when it is full).
SAMPLE_QUEUE = 600
#: Measurements kept for summary() (per processed or shown frame).
HISTORY = 20_000
#: A jump of the frame clock against the wall clock larger than this restarts the lag baseline.
LAG_RESET_S = 5.0

RGB = tuple[int, int, int]
UNCERTAIN_RGB: RGB = (249, 168, 37)
FACE_RGB: RGB = (21, 101, 192)
PALETTE_RGB: tuple[RGB, ...] = (
    (46, 125, 50),
    (198, 40, 40),
    (21, 101, 192),
    (239, 108, 0),
    (106, 27, 154),
    (0, 131, 143),
    (173, 20, 87),
    (85, 139, 47),
    (78, 52, 46),
)


# ----- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveSample:
    """One processed frame, as the page charts it."""

    t: float  # clock seconds when the result was ready
    fps: float  # processed frames per second over FPS_WINDOW_S
    latency_ms: float  # frame arrival -> result ready (waiting + inference)
    infer_ms: float  # Predictor.run alone
    faces: int
    video_fps: float  # frames shown per second
    video_lag_ms: float | None  # how late the last shown frame left, see LiveProcessor
    dropped: int  # frames never processed since the statistics were reset


@dataclass(frozen=True)
class Snapshot:
    """The raw frame last processed and its result (boxes in that frame's pixels)."""

    frame: np.ndarray  # HxWx3 uint8 RGB, a copy
    result: FrameResult
    captured_at: float


@dataclass(frozen=True)
class _Pending:
    frame: np.ndarray
    arrived: float


@dataclass(frozen=True)
class _Processed:
    frame: np.ndarray
    result: FrameResult
    arrived: float
    done: float


class LatestFrame:
    """A one-slot holder: put() overwrites (the older frame is dropped), take() waits for one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None

    def put(self, item: Any) -> bool:
        """Store `item`; True when it replaced one that was never taken."""
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def take(self, timeout: float | None = None) -> Any:
        """The newest item (the slot is emptied), or None after `timeout` seconds."""
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def empty(self) -> bool:
        with self._cond:
            return self._item is None

    def clear(self) -> None:
        with self._cond:
            self._item = None


class _Rate:
    """Events per second over a sliding window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, t: float) -> float:
        self._times.append(t)
        while self._times and t - self._times[0] > self.window_s:
            self._times.popleft()
        return self.rate(t)

    def rate(self, now: float) -> float:
        times = [x for x in self._times if now - x <= self.window_s]
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])


# ----- drawing ---------------------------------------------------------------------------------
def label_rgb(labels: Sequence[str]) -> dict[str, RGB]:
    """{label: colour} in model order, amber for uncertain, blue for a bare face."""
    colours = {label: PALETTE_RGB[i % len(PALETTE_RGB)] for i, label in enumerate(labels)}
    colours[UNCERTAIN] = UNCERTAIN_RGB
    colours.setdefault(FACE, FACE_RGB)
    return colours


def hex_to_rgb(colour: str) -> RGB:
    """'#2e7d32' -> (46, 125, 50); ValueError otherwise."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"a colour must look like #rrggbb, got {colour!r}")
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def caption(face: Face) -> str:
    """The text on a box: label and confidence (ASCII: OpenCV's fonts have nothing else)."""
    if face.label == UNCERTAIN:
        text = f"uncertain ({face.top_label} {face.confidence:.2f})"
    else:
        text = f"{face.label} {face.confidence:.2f}"
    return text.encode("ascii", "replace").decode("ascii")


#: Pixel height of cv2.FONT_HERSHEY_SIMPLEX at scale 1 (with its baseline).
HERSHEY_PX = 22


def draw_faces(
    image: np.ndarray, faces: Iterable[Face], colours: Mapping[str, RGB], scale: tuple[float, float] = (1, 1)
) -> np.ndarray:
    """Box and caption each face on `image` in place (RGB); boxes are multiplied by `scale`."""
    h, w = image.shape[:2]
    thick = max(2, round(max(h, w) / 320))
    largest_px = max(9, round(HERSHEY_PX * max(0.45, max(h, w) / 1280)))
    for face in faces:
        colour = colours.get(face.label, FACE_RGB)
        x1, y1, x2, y2 = (
            round(face.x1 * scale[0]),
            round(face.y1 * scale[1]),
            round(face.x2 * scale[0]),
            round(face.y2 * scale[1]),
        )
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thick)
        text = caption(face)
        # The annotator's and Predict's caption rule (core.captions): small faces, small captions.
        font_scale = caption_px(x2 - x1, y2 - y1, len(text), 9, largest_px) / HERSHEY_PX
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = y1 - th - base - 4 if y1 - th - base - 4 >= 0 else min(y2, h - th - base - 4)
        tx = min(max(x1, 0), max(w - tw - 6, 0))
        cv2.rectangle(image, (tx, ty), (tx + tw + 6, ty + th + base + 4), colour, cv2.FILLED)
        cv2.putText(
            image,
            text,
            (tx + 3, ty + th + 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return image


def draw_hud(image: np.ndarray, lines: Sequence[str], warn: bool = False) -> np.ndarray:
    """A dark, half-transparent box with `lines` in the top-left corner (in place)."""
    if not lines:
        return image
    h, w = image.shape[:2]
    font_scale = max(0.42, max(h, w) / 1400)
    sizes = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1) for t in lines]
    line_h = max(s[0][1] + s[1] for s in sizes) + 6
    box_w = min(w, max(s[0][0] for s in sizes) + 12)
    box_h = min(h, line_h * len(lines) + 6)
    region = image[:box_h, :box_w]
    region[:] = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)
    colour = (255, 200, 60) if warn else (255, 255, 255)
    for i, text in enumerate(lines):
        cv2.putText(
            image,
            text,
            (6, 4 + line_h * (i + 1) - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            colour,
            1,
            cv2.LINE_AA,
        )
    return image


# ----- the processor ---------------------------------------------------------------------------
class LiveProcessor:
    """One stream's frame callback (`recv`) and its worker thread; see the module docstring.

    Video lag: how much later than the quickest frame of the stream a frame leaves, from its
    presentation time stamp against the arrival clock. `async_hop`: the callback runs in
    streamlit-webrtc's async track (async_processing=True), which sends a callback's output
    only when the *next* camera frame arrives; the lag then counts up to that moment.
    Thread-safe: the page calls set_predictor, snapshot, drain and summary while the video
    thread calls recv.
    """

    def __init__(
        self,
        predictor: Predictor | None = None,
        *,
        colours: Mapping[str, RGB] | None = None,
        async_hop: bool = False,
        every: int = DEFAULT_EVERY,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._predictor = predictor
        self._colours = dict(colours) if colours is not None else None
        self.async_hop = async_hop
        self.idle_s = float(idle_s)
        self._clock = clock
        self._slot = LatestFrame()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._latest: _Processed | None = None
        self._error: str | None = None
        self.samples: queue.Queue[LiveSample] = queue.Queue(maxsize=SAMPLE_QUEUE)
        self._last_arrival = 0.0
        self._generation = 0
        self._restart = False
        self._every = check_every(every)
        self._memory = LabelMemory(self._every)
        self._memory_key: tuple[int, int] = (self._generation, self._every)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._started = None
        self._arrived = 0
        self._processed = 0
        self._faces = 0
        self._classified = 0
        self._proc_rate = _Rate(FPS_WINDOW_S)
        self._show_rate = _Rate(FPS_WINDOW_S)
        self._latency: deque[float] = deque(maxlen=HISTORY)
        self._infer: deque[float] = deque(maxlen=HISTORY)
        self._callback: deque[float] = deque(maxlen=HISTORY)
        self._lag: deque[float] = deque(maxlen=HISTORY)
        self._lag_base: float | None = None
        self._prev_pts: float | None = None
        self._last_lag: float | None = None
        self._last_sample: LiveSample | None = None
        self._frame_size: tuple[int, int] | None = None

    # ----- settings ------------------------------------------------------------------------
    @property
    def predictor(self) -> Predictor | None:
        return self._predictor

    def set_predictor(self, predictor: Predictor | None, *, reset_stats: bool = True) -> bool:
        """Use `predictor` from the next frame on (the stream goes on). True when it changed.

        The statistics restart so they describe one setting; the chart keeps its history.
        """
        with self._lock:
            current = self._predictor
            if _same_predictor(current, predictor):
                return False
            self._predictor = predictor
            self._generation += 1
            self._error = None
            if reset_stats:
                self._reset_counters()
        return True

    @property
    def every(self) -> int:
        """A followed face is classified on one processed frame in `every` (core.inference.tracking)."""
        return self._every

    def set_every(self, every: int) -> bool:
        """Classify followed faces on one frame in `every` from the next frame on (1: every face,
        every frame). The statistics restart; True when it changed. ValueError when out of range."""
        every = check_every(every)
        with self._lock:
            if every == self._every:
                return False
            self._every = every
            self._reset_counters()
        return True

    def set_colours(self, colours: Mapping[str, RGB] | None) -> None:
        """Box colours by label (None: label_rgb of the predictor's labels)."""
        self._colours = dict(colours) if colours is not None else None

    @property
    def error(self) -> str | None:
        """The last processing error, cleared by the next good frame or a new predictor."""
        return self._error

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    # ----- the video thread ----------------------------------------------------------------
    def recv(self, frame: av.VideoFrame) -> av.VideoFrame:
        """streamlit-webrtc's video_frame_callback: never blocks on the model."""
        import av

        now = self._clock()
        pts_s = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
        out = self.process(frame.to_ndarray(format="rgb24"), now=now, pts_s=pts_s)
        return av.VideoFrame.from_ndarray(out, format="rgb24")

    def process(self, rgb: np.ndarray, *, now: float | None = None, pts_s: float | None = None) -> np.ndarray:
        """Queue `rgb` for the worker and return a copy with the newest result drawn on it.

        `rgb` is kept as it is (not copied): do not change it afterwards. `pts_s` is the
        frame's presentation time in seconds (the video lag is measured against it).
        """
        now = self._clock() if now is None else now
        frame = as_rgb_frame(rgb)
        with self._lock:
            self._note_arrival(now, pts_s)
            self._frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        if self._predictor is not None:
            self._slot.put(_Pending(frame, now))
            self._ensure_worker()
        out = self.render(frame, now)
        done = self._clock()
        with self._lock:
            self._callback.append((done - now) * 1000.0)
            if pts_s is not None and not self.async_hop and self._lag_base is not None:
                self._record_lag((done - pts_s - self._lag_base) * 1000.0)
            elif pts_s is None:
                self._record_lag((done - now) * 1000.0)
        return out

    def _note_arrival(self, now: float, pts_s: float | None) -> None:
        """Count a frame; with a presentation time, update the lag baseline (under the lock)."""
        if self._restart:  # the first frame of a new stream: new statistics, new lag baseline
            self._reset_counters()
            self._restart = False
        self._started = now if self._started is None else self._started
        self._arrived += 1
        self._last_arrival = now
        self._show_rate.tick(now)
        if pts_s is None:
            return
        offset = now - pts_s
        if self._lag_base is None or offset < self._lag_base or offset - self._lag_base > LAG_RESET_S:
            if self._lag_base is not None and offset - self._lag_base > LAG_RESET_S:
                self._prev_pts = None  # a new stream or a clock jump: start again
            self._lag_base = offset
        if self.async_hop and self._prev_pts is not None:
            # the previous frame's output leaves now, when this frame reaches the async track
            self._record_lag((now - self._prev_pts - self._lag_base) * 1000.0)
        self._prev_pts = pts_s

    def _record_lag(self, ms: float) -> None:
        ms = max(ms, 0.0)
        self._lag.append(ms)
        self._last_lag = ms

    def render(self, frame: np.ndarray, now: float | None = None) -> np.ndarray:
        """A copy of `frame` with the newest fresh result and the statistics line drawn on it."""
        now = self._clock() if now is None else now
        out = np.array(frame, dtype=np.uint8, copy=True)
        predictor, latest = self._predictor, self._latest
        if predictor is not None and latest is not None and now - latest.arrived <= STALE_S:
            result = latest.result
            if predictor.model is not None:
                result = result.with_threshold(predictor.threshold)
            colours = self._colours or label_rgb(predictor.labels)
            h, w = out.shape[:2]
            scale = (w / result.width, h / result.height)
            draw_faces(out, result.faces, colours, scale)
        draw_hud(out, self.hud_lines(now), warn=self._error is not None)
        return out

    def hud_lines(self, now: float | None = None) -> list[str]:
        """The statistics drawn on the video."""
        now = self._clock() if now is None else now
        if self._predictor is None:
            return ["no detector"]
        if self._error:
            return [f"error: {self._error}"[:70]]
        with self._lock:
            sample = self._last_sample
            processed, shown = self._proc_rate.rate(now), self._show_rate.rate(now)
            lag_ms = self._last_lag
        if sample is None or now - sample.t > STALE_S:
            return ["waiting for the model..."]
        lag = "" if lag_ms is None else f", lag {lag_ms:.0f} ms"
        return [f"model {processed:.1f} FPS, {sample.latency_ms:.0f} ms", f"video {shown:.1f} FPS{lag}"]

    # ----- the worker ----------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop_event = threading.Event()
            self._thread = threading.Thread(
                target=self._work, args=(self._stop_event,), name="mask-studio-live", daemon=True
            )
            self._thread.start()

    def _work(self, stop: threading.Event) -> None:
        while not stop.is_set():
            item = self._slot.take(timeout=0.2)
            if item is None:
                with self._lock:
                    if self._clock() - self._last_arrival > self.idle_s and self._slot.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            self._process_one(item)

    def _process_one(self, item: _Pending) -> None:
        with self._lock:
            predictor, generation, every = self._predictor, self._generation, self._every
        if predictor is None:
            return
        if self._memory_key != (generation, every):  # new settings: nothing remembered holds
            self._memory, self._memory_key = LabelMemory(every), (generation, every)
        start = self._clock()
        try:
            result = predictor.run(item.frame, memory=self._memory)
        except ClassifierError as exc:
            self._model_failed(predictor, exc)
            return
        except MaskStudioError as exc:
            self._error = str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - the video must go on; the page shows the error
            LOGGER.exception("live processing failed")
            self._error = f"{type(exc).__name__}: {exc}"
            return
        done = self._clock()
        with self._lock:
            if generation != self._generation:
                return  # settings changed while it ran: a result of the old settings
            self._latest = _Processed(item.frame, result, item.arrived, done)
            self._error = None
            self._processed += 1
            self._faces += len(result.faces)
            self._classified += result.classified
            latency = (done - item.arrived) * 1000.0
            infer = (done - start) * 1000.0
            self._latency.append(latency)
            self._infer.append(infer)
            sample = LiveSample(
                t=done,
                fps=self._proc_rate.tick(done),
                latency_ms=latency,
                infer_ms=infer,
                faces=len(result.faces),
                video_fps=self._show_rate.rate(done),
                video_lag_ms=self._last_lag,
                dropped=max(self._arrived - self._processed, 0),
            )
            self._last_sample = sample
        self._push(sample)

    def _model_failed(self, predictor: Predictor, exc: Exception) -> None:
        """A model that cannot classify these crops: go on finding faces only, and say why."""
        with self._lock:
            if self._predictor is predictor:
                self._predictor = Predictor(predictor.detector, None, predictor.threshold)
                self._generation += 1
            self._error = f"the model failed, showing faces only: {exc}"

    def _push(self, sample: LiveSample) -> None:
        while True:
            try:
                self.samples.put_nowait(sample)
                return
            except queue.Full:
                try:
                    self.samples.get_nowait()
                except queue.Empty:
                    pass

    def stop(self, timeout: float = 5.0) -> None:
        """End the worker thread (streamlit-webrtc's on_video_ended); the next frame restarts it."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop_event.set()
            self._restart = True
        self._slot.clear()
        if thread is not None and timeout > 0 and thread is not threading.current_thread():
            thread.join(timeout)

    def end_stream(self) -> None:
        """The stream ended (streamlit-webrtc's on_video_ended): stop without waiting for the worker."""
        self.stop(timeout=0)

    # ----- the page's side -----------------------------------------------------------------
    def drain(self) -> list[LiveSample]:
        """Every LiveSample since the last call (oldest first)."""
        out = []
        while True:
            try:
                out.append(self.samples.get_nowait())
            except queue.Empty:
                return out

    def snapshot(self) -> Snapshot | None:
        """The last processed raw frame with its result (threshold applied), or None."""
        with self._lock:
            latest, predictor = self._latest, self._predictor
        if latest is None:
            return None
        result = latest.result
        if predictor is not None and predictor.model is not None:
            result = result.with_threshold(predictor.threshold)
        return Snapshot(latest.frame.copy(), result, latest.arrived)

    def reset_stats(self) -> None:
        """Start the statistics (summary) again."""
        with self._lock:
            self._reset_counters()

    def summary(self) -> dict[str, Any]:
        """Totals and percentiles since the statistics were reset (the page's JSON, the benchmark)."""
        with self._lock:
            now = self._clock()
            span = (now - self._started) if self._started is not None else 0.0
            latency, infer = list(self._latency), list(self._infer)
            callback, lag = list(self._callback), list(self._lag)
            out: dict[str, Any] = {
                "seconds": round(span, 2),
                "frames_shown": self._arrived,
                "frames_processed": self._processed,
                "frames_dropped": max(self._arrived - self._processed, 0),
                "faces_found": self._faces,
                "faces_classified": self._classified,
                "classify_every": self._every,
                "processed_fps": round(self._processed / span, 2) if span > 0 else None,
                "shown_fps": round(self._arrived / span, 2) if span > 0 else None,
                "processed_fps_now": round(self._proc_rate.rate(now), 2),
                "shown_fps_now": round(self._show_rate.rate(now), 2),
                # the browser lowers the camera's resolution when its encoder is short of CPU
                "frame_size": list(self._frame_size) if self._frame_size is not None else None,
            }
        predictor = self._predictor
        out["detector"] = getattr(predictor.detector, "name", None) if predictor is not None else None
        out["model"] = predictor.model.name if predictor is not None and predictor.model is not None else None
        out["threshold"] = predictor.threshold if predictor is not None else None
        out["latency_ms"] = _percentiles(latency)
        out["inference_ms"] = _percentiles(infer)
        out["callback_ms"] = _percentiles(callback)
        out["video_lag_ms"] = _percentiles(lag)
        out["error"] = self._error
        return out


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "max": round(float(arr.max()), 1),
    }


def _same_predictor(a: Predictor | None, b: Predictor | None) -> bool:
    if a is None or b is None:
        return a is b
    return a is b or (a.detector is b.detector and a.model is b.model and a.threshold == b.threshold)


# ----- warm-up and snapshots -------------------------------------------------------------------
def warm_up(predictor: Predictor, size: tuple[int, int] = (640, 480)) -> float:
    """Run the detector on a blank `size` (width, height) frame and the model on one crop, so the
    first camera frame does not pay for loading nets and first calls. Returns the seconds spent."""
    start = time.perf_counter()
    w, h = size
    predictor.detector.detect(np.zeros((h, w, 3), np.uint8))
    if predictor.model is not None:
        s = predictor.model.image_size
        predictor.model.predict(np.full((1, s, s, 3), 128, np.uint8))
    return time.perf_counter() - start


def settle_heap() -> int:
    """Collect garbage once, then hide every object alive now from the cyclic collector
    (gc.freeze); returns how many objects are frozen.

    Streamlit runs a full collection after every script run (a widget change, each refresh of
    a fragment) and Keras's clear_session, which Streamlit also calls then, runs another. With
    TensorFlow and a model loaded (about 440,000 objects) each takes about 200 ms with the GIL
    held, so the video thread, the worker and aiortc's event loop all stop for 0.4 s once a
    second. Frozen, the loaded libraries and models are not traversed again: the collections
    take well under a millisecond. Objects frozen are freed by reference counting as usual,
    only reference cycles among them stay (a model evicted from the cache later).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def jpeg_bytes(rgb: np.ndarray, quality: int = 95) -> bytes:
    """`rgb` encoded as JPEG (a webcam photo's format)."""
    buf = io.BytesIO()
    Image.fromarray(as_rgb_frame(rgb)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def snapshot_name(when: datetime | None = None) -> str:
    """A file name for a snapshot: live-YYYYmmdd-HHMMSS-mmm.jpg (local time)."""
    when = when or datetime.now()
    return f"live-{when:%Y%m%d-%H%M%S}-{when.microsecond // 1000:03d}.jpg"


def save_snapshot(
    project: Project,
    snap: Snapshot | None,
    *,
    add_categories: Sequence[str] = (),
    label: str | None = None,
    name: str | None = None,
) -> SendReport:
    """Store the snapshot's raw frame in `project` with its faces as pre-annotations.

    Each face becomes a box labelled with the project category of the same name ("None" when
    the project has none, for uncertain faces and for bare faces), with its confidence as score;
    `label` instead gives every face that category (collecting examples of one class, as
    Teachable Machine does). The annotation rules apply (refused boxes are listed). LiveError
    when there is no frame yet or `label` is not a category of the project.
    """
    if snap is None:
        raise LiveError("no frame has been processed yet: start the camera first")
    faces: Sequence[Face] = snap.result.faces
    if label is not None:
        if label not in project.load().categories:
            raise LiveError(f"project {project.name!r} has no category {label!r}")
        faces = [replace(f, label=label) for f in faces]
    return send_to_annotator(
        project, name or snapshot_name(), jpeg_bytes(snap.frame), faces, add_categories=add_categories
    )


def label_fit(labels: Sequence[str], categories: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """({model label: project category}, labels that would become "None") for the snapshot target."""
    mapping = {label: category_for(label, categories) for label in labels if label not in (FACE, UNCERTAIN)}
    return mapping, [label for label, cat in mapping.items() if cat == NONE]


__all__ = [
    "DEFAULT_LIVE_DETECTOR",
    "LatestFrame",
    "LiveProcessor",
    "LiveSample",
    "Snapshot",
    "caption",
    "draw_faces",
    "draw_hud",
    "hex_to_rgb",
    "jpeg_bytes",
    "label_fit",
    "label_rgb",
    "save_snapshot",
    "settle_heap",
    "snapshot_name",
    "warm_up",
]
