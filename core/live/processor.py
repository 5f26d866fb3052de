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
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ClassifierError, MaskStudioError
from core.inference.predictor import FrameResult, Predictor
from core.inference.tracking import DEFAULT_EVERY, LabelMemory, check_every
from core.live.snapshots import Snapshot
from core.live.stats import LiveSample, LiveStats, StreamStats
from core.overlay import draw_faces, draw_hud
from core.vision.detections import as_rgb_frame

if TYPE_CHECKING:
    import av

LOGGER = logging.getLogger(__name__)

#: The detector Live starts with: CenterFace at 256x192 (core.vision.detectors.CENTERFACE_LIVE), about a
#: tenth of the full CenterFace's work; webcam faces are large. benchmarks/live.py measures it.
DEFAULT_LIVE_DETECTOR = "centerface-live"
#: Boxes older than this (seconds) are not drawn: they would sit beside the faces.
STALE_S = 1.0
#: The worker thread ends after this long without frames (a stream closed without notice).
IDLE_S = 5.0
#: LiveSamples kept for the page between two reads (the oldest are dropped when it is full).
SAMPLE_QUEUE = 600


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


# ----- the processor ---------------------------------------------------------------------------
class LiveProcessor:
    """One stream's frame callback (`recv`) and its worker thread; see the module docstring.

    `async_hop`: the callback runs in streamlit-webrtc's async track (async_processing=True),
    which sends a callback's output only when the *next* camera frame arrives; the video lag
    (core.live.stats.StreamStats) then counts up to that moment.
    Thread-safe: the page calls set_predictor, snapshot, drain and stats while the video
    thread calls recv.
    """

    def __init__(
        self,
        predictor: Predictor | None = None,
        *,
        async_hop: bool = False,
        every: int = DEFAULT_EVERY,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._predictor = predictor
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
        self._stats = StreamStats(async_hop)

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
                self._stats.reset()
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
            self._stats.reset()
        return True

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
            if self._restart:  # the first frame of a new stream: new statistics, new lag baseline
                self._stats.reset()
                self._restart = False
            self._last_arrival = now
            self._stats.arrival(now, pts_s, (int(frame.shape[1]), int(frame.shape[0])))
        if self._predictor is not None:
            self._slot.put(_Pending(frame, now))
            self._ensure_worker()
        out = self.render(frame, now)
        done = self._clock()
        with self._lock:
            self._stats.left_callback(now, done, pts_s)
        return out

    def render(self, frame: np.ndarray, now: float | None = None) -> np.ndarray:
        """A copy of `frame` with the newest fresh result and the statistics line drawn on it."""
        now = self._clock() if now is None else now
        out = np.array(frame, dtype=np.uint8, copy=True)
        predictor, latest = self._predictor, self._latest
        if predictor is not None and latest is not None and now - latest.arrived <= STALE_S:
            result = latest.result
            if predictor.model is not None:
                result = result.with_threshold(predictor.threshold)
            h, w = out.shape[:2]
            draw_faces(out, result.faces, (w / result.width, h / result.height))
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
            sample = self._stats.last_sample
            processed, shown = self._stats.proc_rate.rate(now), self._stats.show_rate.rate(now)
            lag_ms = self._stats.last_lag
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
        except Exception as exc:
            LOGGER.exception("live processing failed")
            self._error = f"{type(exc).__name__}: {exc}"
            return
        done = self._clock()
        with self._lock:
            if generation != self._generation:
                return  # settings changed while it ran: a result of the old settings
            self._latest = _Processed(item.frame, result, item.arrived, done)
            self._error = None
            sample = self._stats.result(item.arrived, start, done, len(result.faces), result.classified)
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
        """Start the statistics again."""
        with self._lock:
            self._stats.reset()

    def stats(self) -> LiveStats:
        """Totals and percentiles since the statistics were reset (the page, the benchmark)."""
        with self._lock:
            now, counters, every = self._clock(), self._stats.copy(), self._every
            predictor, error = self._predictor, self._error
        return counters.totals(
            now,
            every=every,
            detector=getattr(predictor.detector, "name", None) if predictor is not None else None,
            model=predictor.model.name if predictor is not None and predictor.model is not None else None,
            threshold=predictor.threshold if predictor is not None else None,
            error=error,
        )


def _same_predictor(a: Predictor | None, b: Predictor | None) -> bool:
    if a is None or b is None:
        return a is b
    return a is b or (a.detector is b.detector and a.model is b.model and a.threshold == b.threshold)


# ----- warm-up ---------------------------------------------------------------------------------
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

    Streamlit (and Keras's clear_session) run full collections after every script run; with
    TensorFlow and a model loaded, each holds the GIL long enough to stall the video (the
    figures are in the Live documentation). Frozen, the loaded libraries and models are not
    traversed again. Frozen objects are still freed by reference counting; only reference
    cycles among them stay (a model evicted from the cache later).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
