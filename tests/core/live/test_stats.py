"""core.live.stats: samples for the page's chart, the totals (LiveStats) and the video lag, as a
stream through LiveProcessor measures them."""

from __future__ import annotations

import json

import pytest

from core.inference.predictor import Predictor
from core.live import processor as live
from core.live.processor import LiveProcessor
from core.live.stats import Percentiles, Rate, StreamStats
from tests.core.live.stubs import BOX, H, StubDetector, StubModel, W, frame, processed, wait_until


# ----- statistics ------------------------------------------------------------------------------
def test_samples_leave_through_a_bounded_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "SAMPLE_QUEUE", 3)
    p = LiveProcessor()
    p.set_predictor(Predictor(StubDetector()))
    for i in range(5):
        p.process(frame(i))
        wait_until(lambda i=i: processed(p) == i + 1)
    samples = p.drain()
    p.stop()
    assert len(samples) == 3  # the oldest two were dropped
    assert [s.t for s in samples] == sorted(s.t for s in samples)
    assert all(s.faces == 1 and s.latency_ms >= s.infer_ms >= 0 for s in samples)
    assert p.drain() == []


def test_stats_name_the_settings_and_gives_percentiles(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector(), StubModel(), 0.55))
    for i in range(3):
        proc.process(frame(i))
        wait_until(lambda i=i: processed(proc) == i + 1)
    s = proc.stats()
    assert (s.detector, s.model, s.threshold) == ("stub", "stub model", 0.55)
    assert s.faces_found == 3 and s.frames_dropped == 0
    assert s.latency_ms.p50 is not None and s.latency_ms.p50 <= s.latency_ms.max
    proc.reset_stats()
    assert proc.stats().frames_processed == 0


def test_a_followed_face_is_classified_on_one_frame_in_every(proc: LiveProcessor) -> None:
    model = StubModel()
    proc.set_predictor(Predictor(StubDetector(), model))
    assert proc.every == 3
    for i in range(6):  # the stub finds the same face on every frame: followed
        proc.process(frame(i))
        wait_until(lambda i=i: processed(proc) == i + 1)
    s = proc.stats()
    assert (s.faces_found, s.faces_classified, s.classify_every) == (6, 2, 3)
    assert model.calls == 2
    assert s.frame_size == (W, H) and s.as_dict()["frame_size"] == [W, H]
    out = proc.render(frame(9))
    x1, y1, x2, y2 = (int(v) for v in BOX)
    assert tuple(out[(y1 + y2) // 2, x1]) != (9, 9, 9)  # a reused label is still drawn
    assert proc.set_every(1) and not proc.set_every(1)
    assert proc.stats().frames_processed == 0  # new setting, new statistics
    for i in range(3):
        proc.process(frame(i))
        wait_until(lambda i=i: processed(proc) == i + 1)
    assert proc.stats().faces_classified == 3 and model.calls == 5
    with pytest.raises(ValueError, match="every"):
        proc.set_every(0)


def test_video_lag_is_measured_against_the_quickest_frame() -> None:
    p = LiveProcessor(async_hop=True)  # no predictor: no worker, only the video side
    arrivals = [100.0, 100.0 + 1 / 30 + 0.05, 100.0 + 2 / 30, 100.0 + 3 / 30]  # frame 1 is 50 ms late
    for k, now in enumerate(arrivals):
        p.process(frame(0), now=now, pts_s=k / 30)
    lag = p.stats().video_lag_ms
    # a frame leaves when the next one arrives (the async hand-over): one frame interval...
    assert lag.p50 == pytest.approx(1000 / 30, abs=0.2)
    # ...and frame 0 waited for the late frame 1
    assert lag.max == pytest.approx(1000 / 30 + 50, abs=0.2)


def test_video_lag_without_the_async_hand_over_is_the_time_to_leave_the_callback() -> None:
    arrivals = [100.0, 100.0 + 1 / 30 + 0.05, 100.0 + 2 / 30]  # frame 1 is 50 ms late
    ticks = [t for a in arrivals for t in (a, a + 0.002)]  # each callback takes 2 ms
    p = LiveProcessor(async_hop=False, clock=lambda: ticks.pop(0) if ticks else 101.0)
    for k in range(3):
        p.process(frame(0), pts_s=k / 30)
    lag = p.stats().video_lag_ms
    assert lag.p50 == pytest.approx(2.0, abs=0.05)
    assert lag.max == pytest.approx(52.0, abs=0.05)


def test_a_clock_jump_restarts_the_lag_baseline() -> None:
    p = LiveProcessor(async_hop=True)
    p.process(frame(0), now=100.0, pts_s=0.0)
    p.process(frame(0), now=200.0, pts_s=0.0)  # a new RTP clock: not 100 s of lag
    p.process(frame(0), now=200.05, pts_s=0.0)
    assert p.stats().video_lag_ms.max == pytest.approx(50.0, abs=0.2)


def test_recv_takes_and_returns_video_frames(proc: LiveProcessor) -> None:
    from fractions import Fraction

    import av

    proc.set_predictor(Predictor(StubDetector()))
    f = av.VideoFrame.from_ndarray(frame(5), format="rgb24")
    f.pts, f.time_base = 3000, Fraction(1, 90_000)
    out = proc.recv(f)
    assert (out.width, out.height) == (W, H)
    assert tuple(out.to_ndarray(format="rgb24")[-1, -1]) == (5, 5, 5)
    wait_until(lambda: processed(proc) == 1)


# ----- the records -----------------------------------------------------------------------------
def test_percentiles_of_nothing_are_none() -> None:
    assert Percentiles.of([]) == Percentiles(None, None, None)
    p = Percentiles.of([1.0, 2.0, 3.0, 100.0])
    assert (p.p50, p.max) == (2.5, 100.0) and p.p50 <= p.p95 <= p.max


def test_the_json_keeps_the_keys_the_page_and_the_benchmark_read() -> None:
    stats = StreamStats().totals(10.0, every=3)
    data = json.loads(json.dumps(stats.as_dict()))
    assert list(data) == [
        "seconds", "frames_shown", "frames_processed", "frames_dropped", "faces_found",
        "faces_classified", "classify_every", "processed_fps", "shown_fps", "processed_fps_now",
        "shown_fps_now", "frame_size", "detector", "model", "threshold", "latency_ms",
        "inference_ms", "callback_ms", "video_lag_ms", "error",
    ]  # fmt: skip
    assert data["latency_ms"] == {"p50": None, "p95": None, "max": None}
    assert (data["frames_shown"], data["processed_fps"], data["classify_every"]) == (0, None, 3)


def test_stream_stats_count_frames_results_and_rates() -> None:
    s = StreamStats()
    for k in range(4):
        s.arrival(100.0 + k * 0.1, None, (64, 48))
    sample = s.result(arrived=100.1, start=100.15, done=100.2, faces=2, classified=1)
    assert (sample.latency_ms, sample.infer_ms) == pytest.approx((100.0, 50.0))
    assert sample.dropped == 3 and sample.faces == 2
    totals = s.totals(100.4, every=1, detector="d", model=None, threshold=0.5, error="e")
    assert (totals.frames_shown, totals.frames_processed, totals.frames_dropped) == (4, 1, 3)
    assert (totals.faces_found, totals.faces_classified, totals.frame_size) == (2, 1, (64, 48))
    assert totals.seconds == 0.4 and totals.shown_fps == 10.0
    assert totals.shown_fps_now == pytest.approx(10.0) and totals.processed_fps_now == 0.0
    assert (totals.detector, totals.threshold, totals.error) == ("d", 0.5, "e")


def test_a_copy_does_not_move_with_the_stream() -> None:
    s = StreamStats()
    s.arrival(1.0, None, (64, 48))
    s.left_callback(1.0, 1.002, None)
    copy = s.copy()
    s.arrival(1.1, None, (64, 48))
    s.left_callback(1.1, 1.2, None)
    assert copy.totals(2.0, every=1).frames_shown == 1
    assert copy.totals(2.0, every=1).callback_ms.max == pytest.approx(2.0)
    assert s.totals(2.0, every=1).callback_ms.max == pytest.approx(100.0)
    s.reset()
    assert s.totals(2.0, every=1).frames_shown == 0 and copy.totals(2.0, every=1).frames_shown == 1


def test_rate_counts_events_in_its_window() -> None:
    r = Rate(1.0)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        r.tick(t)
    assert r.rate(1.0) == pytest.approx(4.0)
    assert r.rate(5.0) == 0.0  # all out of the window
