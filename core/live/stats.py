"""Live's statistics: what one stream measured (frames shown and processed, rates, latency and
video lag), as the page's chart samples (`LiveSample`) and its totals (`LiveStats`).

`StreamStats` collects them for core.live.processor.LiveProcessor, which calls it under its lock.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Processed and shown FPS are counted over this sliding window (seconds).
FPS_WINDOW_S = 2.0
#: Measurements kept for the totals (per processed or shown frame).
HISTORY = 20_000
#: A jump of the frame clock against the wall clock larger than this restarts the lag baseline.
LAG_RESET_S = 5.0


@dataclass(frozen=True)
class LiveSample:
    """One processed frame, as the page charts it."""

    t: float  # clock seconds when the result was ready
    fps: float  # processed frames per second over FPS_WINDOW_S
    latency_ms: float  # frame arrival -> result ready (waiting + inference)
    infer_ms: float  # Predictor.run alone
    faces: int
    video_fps: float  # frames shown per second
    video_lag_ms: float | None  # how late the last shown frame left, see StreamStats
    dropped: int  # frames never processed since the statistics were reset


@dataclass(frozen=True)
class Percentiles:
    """p50, p95 and the largest of some milliseconds (None when nothing was measured)."""

    p50: float | None = None
    p95: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        if not values:
            return cls()
        arr = np.asarray(values, dtype=np.float64)
        return cls(
            round(float(np.percentile(arr, 50)), 1),
            round(float(np.percentile(arr, 95)), 1),
            round(float(arr.max()), 1),
        )


@dataclass(frozen=True)
class LiveStats:
    """Totals and percentiles of one stream since its statistics were reset."""

    seconds: float
    frames_shown: int
    frames_processed: int
    frames_dropped: int
    faces_found: int
    faces_classified: int
    classify_every: int
    processed_fps: float | None  # over the whole span
    shown_fps: float | None
    processed_fps_now: float  # over the last FPS_WINDOW_S
    shown_fps_now: float
    #: (width, height) of the last frame: the browser lowers the camera's resolution when its
    #: encoder is short of CPU
    frame_size: tuple[int, int] | None
    detector: str | None
    model: str | None
    threshold: float | None
    latency_ms: Percentiles
    inference_ms: Percentiles
    callback_ms: Percentiles
    video_lag_ms: Percentiles
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (the page's statistics JSON, read by the browser tests)."""
        out = asdict(self)
        out["frame_size"] = list(self.frame_size) if self.frame_size is not None else None
        return out


class Rate:
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

    def copy(self) -> Rate:
        out = Rate(self.window_s)
        out._times = deque(self._times)
        return out


class StreamStats:
    """The counters of one stream. Not thread-safe: the processor calls it under its lock.

    Video lag: how much later than the quickest frame of the stream a frame leaves, from its
    presentation time stamp against the arrival clock. With `async_hop` the callback's output
    leaves only when the next camera frame arrives, so the lag counts up to that moment.
    """

    def __init__(self, async_hop: bool = False) -> None:
        self.async_hop = async_hop
        self.reset()

    def reset(self) -> None:
        """Start again (a new setting, a new stream, the page's reset)."""
        self.started: float | None = None
        self.arrived = 0
        self.processed = 0
        self.faces = 0
        self.classified = 0
        self.proc_rate = Rate(FPS_WINDOW_S)
        self.show_rate = Rate(FPS_WINDOW_S)
        self.latency: deque[float] = deque(maxlen=HISTORY)
        self.infer: deque[float] = deque(maxlen=HISTORY)
        self.callback: deque[float] = deque(maxlen=HISTORY)
        self.lag: deque[float] = deque(maxlen=HISTORY)
        self.lag_base: float | None = None
        self.prev_pts: float | None = None
        self.last_lag: float | None = None
        self.last_sample: LiveSample | None = None
        self.frame_size: tuple[int, int] | None = None

    def copy(self) -> StreamStats:
        """An independent copy (to compute the totals outside the processor's lock)."""
        out = copy.copy(self)
        out.latency, out.infer = copy.copy(self.latency), copy.copy(self.infer)
        out.callback, out.lag = copy.copy(self.callback), copy.copy(self.lag)
        out.proc_rate, out.show_rate = self.proc_rate.copy(), self.show_rate.copy()
        return out

    def arrival(self, now: float, pts_s: float | None, size: tuple[int, int]) -> None:
        """Count a frame of `size` (width, height); with a presentation time, update the lag baseline."""
        self.started = now if self.started is None else self.started
        self.arrived += 1
        self.frame_size = size
        self.show_rate.tick(now)
        if pts_s is None:
            return
        offset = now - pts_s
        if self.lag_base is None or offset < self.lag_base or offset - self.lag_base > LAG_RESET_S:
            if self.lag_base is not None and offset - self.lag_base > LAG_RESET_S:
                self.prev_pts = None  # a new stream or a clock jump: start again
            self.lag_base = offset
        if self.async_hop and self.prev_pts is not None:
            # the previous frame's output leaves now, when this frame reaches the async track
            self.record_lag((now - self.prev_pts - self.lag_base) * 1000.0)
        self.prev_pts = pts_s

    def left_callback(self, now: float, done: float, pts_s: float | None) -> None:
        """The callback that began at `now` returned its frame at `done`."""
        self.callback.append((done - now) * 1000.0)
        if pts_s is not None and not self.async_hop and self.lag_base is not None:
            self.record_lag((done - pts_s - self.lag_base) * 1000.0)
        elif pts_s is None:
            self.record_lag((done - now) * 1000.0)

    def record_lag(self, ms: float) -> None:
        ms = max(ms, 0.0)
        self.lag.append(ms)
        self.last_lag = ms

    def result(self, arrived: float, start: float, done: float, faces: int, classified: int) -> LiveSample:
        """Count a result of a frame that arrived at `arrived`, whose run took start..done."""
        self.processed += 1
        self.faces += faces
        self.classified += classified
        latency = (done - arrived) * 1000.0
        infer = (done - start) * 1000.0
        self.latency.append(latency)
        self.infer.append(infer)
        self.last_sample = LiveSample(
            t=done,
            fps=self.proc_rate.tick(done),
            latency_ms=latency,
            infer_ms=infer,
            faces=faces,
            video_fps=self.show_rate.rate(done),
            video_lag_ms=self.last_lag,
            dropped=max(self.arrived - self.processed, 0),
        )
        return self.last_sample

    def totals(
        self,
        now: float,
        *,
        every: int,
        detector: str | None = None,
        model: str | None = None,
        threshold: float | None = None,
        error: str | None = None,
    ) -> LiveStats:
        """The statistics at `now`, naming the settings they describe."""
        span = (now - self.started) if self.started is not None else 0.0
        return LiveStats(
            seconds=round(span, 2),
            frames_shown=self.arrived,
            frames_processed=self.processed,
            frames_dropped=max(self.arrived - self.processed, 0),
            faces_found=self.faces,
            faces_classified=self.classified,
            classify_every=every,
            processed_fps=round(self.processed / span, 2) if span > 0 else None,
            shown_fps=round(self.arrived / span, 2) if span > 0 else None,
            processed_fps_now=round(self.proc_rate.rate(now), 2),
            shown_fps_now=round(self.show_rate.rate(now), 2),
            frame_size=self.frame_size,
            detector=detector,
            model=model,
            threshold=threshold,
            latency_ms=Percentiles.of(self.latency),
            inference_ms=Percentiles.of(self.infer),
            callback_ms=Percentiles.of(self.callback),
            video_lag_ms=Percentiles.of(self.lag),
            error=error,
        )
