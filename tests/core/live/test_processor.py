"""core.live.processor and core.live.rtc: the frame callback never waits for the model, stale frames are
dropped, settings swap while streaming, statistics, snapshots and ICE settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.annotation.annotations import NONE
from core.annotation.projects import Project
from core.errors import ClassifierError, DetectorError, IceConfigError, LiveError
from core.inference.predictor import FACE, UNCERTAIN, Face, FrameResult, Predictor
from core.live import processor as live
from core.live.processor import (
    LatestFrame,
    LiveProcessor,
    Snapshot,
    caption,
    hex_to_rgb,
    label_fit,
    label_rgb,
    save_snapshot,
    snapshot_name,
    warm_up,
)
from core.live.rtc import ICE_ENV, compile_ice_servers, preload_srtp, rtc_settings
from core.vision.detections import Detection

W, H = 160, 120
BOX = (60.0, 40.0, 110.0, 100.0)


def frame(value: int) -> np.ndarray:
    """A flat frame whose pixels all hold `value` (its id)."""
    return np.full((H, W, 3), value, np.uint8)


def wait_until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll `cond` until true; AssertionError after `timeout` seconds (never a speed test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


class StubDetector:
    """Returns BOX for every frame; records the id of each frame it saw and its thread; can be
    held at a gate (a slow model) or made to fail."""

    name = "stub"

    def __init__(self, gate: threading.Event | None = None, fail: int = 0) -> None:
        self.gate = gate
        self.fail = fail
        self.seen: list[int] = []
        self.threads: set[int] = set()

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.threads.add(threading.get_ident())
        if self.gate is not None:
            assert self.gate.wait(30)
        self.seen.append(int(image[-1, -1, 0]))
        if self.fail:
            self.fail -= 1
            raise DetectorError("stub detector failed")
        return [Detection(*BOX, score=0.9)]


class StubModel:
    """A classifier with fixed probabilities (or one that fails like a misfit model)."""

    labels = ("with_mask", "without_mask")
    image_size = 8
    name = "stub model"

    def __init__(self, probs: tuple[float, float] = (0.7, 0.3), fail: bool = False) -> None:
        self.probs = np.asarray(probs, np.float32)
        self.fail = fail
        self.calls = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.fail:
            raise ClassifierError("crops must be (N, 9, 9, 3), got (1, 8, 8, 3)")
        return np.tile(self.probs, (len(x), 1))


@pytest.fixture
def proc() -> LiveProcessor:
    p = LiveProcessor()
    yield p
    p.stop()


def processed(p: LiveProcessor) -> int:
    return p.summary()["frames_processed"]


# ----- the one-slot holder -------------------------------------------------------------------
def test_latest_frame_keeps_only_the_newest() -> None:
    slot = LatestFrame()
    assert slot.put("a") is False
    assert slot.put("b") is True  # "a" was never taken: dropped
    assert slot.take(0.01) == "b"
    assert slot.take(0.01) is None
    assert slot.empty()


# ----- the callback never waits for the model ------------------------------------------------
def test_frames_come_back_at_once_and_stale_frames_are_dropped(proc: LiveProcessor) -> None:
    gate = threading.Event()
    det = StubDetector(gate)
    proc.set_predictor(Predictor(det))
    outs = [proc.process(frame(i)) for i in range(1, 6)]  # the model is held at the gate
    assert [int(o[-1, -1, 0]) for o in outs] == [1, 2, 3, 4, 5]  # each output is its own frame
    gate.set()
    wait_until(lambda: 5 in det.seen)
    assert not {2, 3, 4} & set(det.seen)  # frames that waited behind a newer one were skipped
    assert set(det.seen) <= {1, 5}
    s = proc.summary()
    assert s["frames_shown"] == 5 and s["frames_dropped"] == 5 - s["frames_processed"]


def test_the_newest_result_is_drawn_on_the_current_frame(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.set_colours({FACE: (255, 0, 255)})
    proc.process(frame(0))
    wait_until(lambda: processed(proc) >= 1)
    out = proc.process(frame(7))
    x1, y1, x2, y2 = (int(v) for v in BOX)
    assert tuple(out[(y1 + y2) // 2, x1]) == (255, 0, 255)  # the box's left edge
    assert tuple(out[-1, -1]) == (7, 7, 7)  # the rest is the current frame


def test_boxes_are_scaled_to_a_frame_of_another_size(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.set_colours({FACE: (255, 0, 255)})
    proc.process(frame(0))
    wait_until(lambda: processed(proc) >= 1)
    big = proc.render(np.zeros((2 * H, 2 * W, 3), np.uint8))  # the camera changed resolution
    assert tuple(big[int(BOX[1] + BOX[3]), int(2 * BOX[0])]) == (255, 0, 255)


def test_stale_boxes_are_not_drawn(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.set_colours({FACE: (255, 0, 255)})
    proc.process(frame(0))
    wait_until(lambda: processed(proc) >= 1)
    later = time.monotonic() + live.STALE_S + 1
    out = proc.render(frame(3), now=later)
    assert not np.all(out[int(BOX[1]) + 5, int(BOX[0])] == (255, 0, 255))


# ----- settings while streaming ----------------------------------------------------------------
def test_a_new_predictor_takes_over_without_a_new_worker(proc: LiveProcessor) -> None:
    first, second = StubDetector(), StubDetector()
    proc.set_predictor(Predictor(first))
    proc.process(frame(1))
    wait_until(lambda: processed(proc) >= 1)
    assert proc.set_predictor(Predictor(second)) is True
    proc.process(frame(2))
    wait_until(lambda: second.seen == [2])
    assert first.seen == [1]
    assert first.threads == second.threads  # the same worker thread went on
    assert proc.running


def test_the_same_settings_are_not_a_change(proc: LiveProcessor) -> None:
    det, model = StubDetector(), StubModel()
    assert proc.set_predictor(Predictor(det, model, 0.5)) is True
    assert proc.set_predictor(Predictor(det, model, 0.5)) is False
    assert proc.set_predictor(Predictor(det, model, 0.6)) is True


def test_a_threshold_change_relabels_the_last_result_at_once(proc: LiveProcessor) -> None:
    det, model = StubDetector(), StubModel((0.7, 0.3))
    proc.set_predictor(Predictor(det, model, 0.6))
    proc.process(frame(1))
    wait_until(lambda: processed(proc) >= 1)
    assert [f.label for f in proc.snapshot().result.faces] == ["with_mask"]
    calls = model.calls
    proc.set_predictor(Predictor(det, model, 0.8))
    assert [f.label for f in proc.snapshot().result.faces] == [UNCERTAIN]
    assert model.calls == calls  # no model call for it


def test_a_model_that_does_not_fit_falls_back_to_faces_only(proc: LiveProcessor) -> None:
    det = StubDetector()
    proc.set_predictor(Predictor(det, StubModel(fail=True)))
    proc.process(frame(1))
    wait_until(lambda: proc.error is not None)
    assert "showing faces only" in proc.error and "crops must be" in proc.error
    assert proc.predictor.model is None and proc.predictor.detector is det
    proc.process(frame(2))
    wait_until(lambda: processed(proc) >= 1)
    assert [f.label for f in proc.snapshot().result.faces] == [FACE]


def test_a_detector_error_is_shown_and_the_stream_goes_on(proc: LiveProcessor) -> None:
    det = StubDetector(fail=1)
    proc.set_predictor(Predictor(det))
    proc.process(frame(1))
    wait_until(lambda: proc.error == "stub detector failed")
    assert proc.hud_lines()[0].startswith("error: stub detector failed")
    proc.process(frame(2))
    wait_until(lambda: processed(proc) == 1)
    assert proc.error is None


# ----- the worker's life -----------------------------------------------------------------------
def test_stop_ends_the_worker_and_the_next_frame_starts_one(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.process(frame(1))
    wait_until(lambda: processed(proc) == 1)
    proc.stop()
    assert not proc.running
    proc.process(frame(2))
    assert proc.running
    wait_until(lambda: processed(proc) == 1)  # a new stream: new statistics
    assert proc.summary()["frames_shown"] == 1


def test_an_idle_worker_ends_by_itself() -> None:
    p = LiveProcessor(idle_s=0.2)
    p.set_predictor(Predictor(StubDetector()))
    p.process(frame(1))
    wait_until(lambda: processed(p) == 1)
    wait_until(lambda: not p.running)
    p.process(frame(2))
    wait_until(lambda: processed(p) == 2)
    p.stop()


def test_without_a_predictor_frames_pass_through() -> None:
    p = LiveProcessor()
    out = p.process(frame(9))
    assert not p.running and p.hud_lines() == ["no detector"]
    assert tuple(out[-1, -1]) == (9, 9, 9)


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


def test_summary_names_the_settings_and_gives_percentiles(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector(), StubModel(), 0.55))
    for i in range(3):
        proc.process(frame(i))
        wait_until(lambda i=i: processed(proc) == i + 1)
    s = proc.summary()
    assert (s["detector"], s["model"], s["threshold"]) == ("stub", "stub model", 0.55)
    assert s["faces_found"] == 3 and s["frames_dropped"] == 0
    assert s["latency_ms"]["p50"] is not None and s["latency_ms"]["p50"] <= s["latency_ms"]["max"]
    proc.reset_stats()
    assert proc.summary()["frames_processed"] == 0


def test_a_followed_face_is_classified_on_one_frame_in_every(proc: LiveProcessor) -> None:
    model = StubModel()
    proc.set_predictor(Predictor(StubDetector(), model))
    assert proc.every == 3
    for i in range(6):  # the stub finds the same face on every frame: followed
        proc.process(frame(i))
        wait_until(lambda i=i: processed(proc) == i + 1)
    s = proc.summary()
    assert (s["faces_found"], s["faces_classified"], s["classify_every"]) == (6, 2, 3)
    assert model.calls == 2
    assert s["frame_size"] == [W, H]
    out = proc.render(frame(9))
    x1, y1, x2, y2 = (int(v) for v in BOX)
    assert tuple(out[(y1 + y2) // 2, x1]) != (9, 9, 9)  # a reused label is still drawn
    assert proc.set_every(1) and not proc.set_every(1)
    assert proc.summary()["frames_processed"] == 0  # new setting, new statistics
    for i in range(3):
        proc.process(frame(i))
        wait_until(lambda i=i: processed(proc) == i + 1)
    assert proc.summary()["faces_classified"] == 3 and model.calls == 5
    with pytest.raises(ValueError, match="every"):
        proc.set_every(0)


def test_video_lag_is_measured_against_the_quickest_frame() -> None:
    p = LiveProcessor(async_hop=True)  # no predictor: no worker, only the video side
    arrivals = [100.0, 100.0 + 1 / 30 + 0.05, 100.0 + 2 / 30, 100.0 + 3 / 30]  # frame 1 is 50 ms late
    for k, now in enumerate(arrivals):
        p.process(frame(0), now=now, pts_s=k / 30)
    lag = p.summary()["video_lag_ms"]
    # a frame leaves when the next one arrives (the async hand-over): one frame interval...
    assert lag["p50"] == pytest.approx(1000 / 30, abs=0.2)
    # ...and frame 0 waited for the late frame 1
    assert lag["max"] == pytest.approx(1000 / 30 + 50, abs=0.2)


def test_video_lag_without_the_async_hand_over_is_the_time_to_leave_the_callback() -> None:
    arrivals = [100.0, 100.0 + 1 / 30 + 0.05, 100.0 + 2 / 30]  # frame 1 is 50 ms late
    ticks = [t for a in arrivals for t in (a, a + 0.002)]  # each callback takes 2 ms
    p = LiveProcessor(async_hop=False, clock=lambda: ticks.pop(0) if ticks else 101.0)
    for k in range(3):
        p.process(frame(0), pts_s=k / 30)
    lag = p.summary()["video_lag_ms"]
    assert lag["p50"] == pytest.approx(2.0, abs=0.05)
    assert lag["max"] == pytest.approx(52.0, abs=0.05)


def test_a_clock_jump_restarts_the_lag_baseline() -> None:
    p = LiveProcessor(async_hop=True)
    p.process(frame(0), now=100.0, pts_s=0.0)
    p.process(frame(0), now=200.0, pts_s=0.0)  # a new RTP clock: not 100 s of lag
    p.process(frame(0), now=200.05, pts_s=0.0)
    assert p.summary()["video_lag_ms"]["max"] == pytest.approx(50.0, abs=0.2)


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


# ----- drawing, warm-up ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("face", "text"),
    [
        (Face(0, 0, 9, 9, "with_mask", 0.93, {"with_mask": 0.93, "x": 0.07}), "with_mask 0.93"),
        (Face(0, 0, 9, 9, UNCERTAIN, 0.51, {"a": 0.51, "b": 0.49}), "uncertain (a 0.51)"),
        (Face(0, 0, 9, 9, "maske ä", 0.9), "maske ? 0.90"),
    ],
)
def test_caption(face: Face, text: str) -> None:
    assert caption(face) == text


@pytest.mark.parametrize(("value", "rgb"), [("#2e7d32", (46, 125, 50)), ("FFFFFF", (255, 255, 255))])
def test_hex_to_rgb(value: str, rgb: tuple[int, int, int]) -> None:
    assert hex_to_rgb(value) == rgb


def test_hex_to_rgb_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        hex_to_rgb("red")


def test_label_colours_keep_uncertain_and_face_apart() -> None:
    colours = label_rgb(("a", "b"))
    assert len({colours["a"], colours["b"], colours[UNCERTAIN], colours[FACE]}) == 4


def test_warm_up_runs_the_detector_and_the_model_once() -> None:
    det, model = StubDetector(), StubModel()
    warm_up(Predictor(det, model), size=(64, 48))
    assert det.seen == [0] and model.calls == 1


# ----- snapshots -------------------------------------------------------------------------------
def snap(*faces: Face) -> Snapshot:
    img = np.zeros((H, W, 3), np.uint8)
    img[:, :, 1] = 120
    return Snapshot(img, FrameResult(tuple(faces), W, H, 1.0, 1.0), 0.0)


FACES = (
    Face(10, 10, 40, 50, "with_mask", 0.9, {"with_mask": 0.9, "without_mask": 0.1}),
    Face(60, 10, 90, 50, "without_mask", 0.8, {"with_mask": 0.2, "without_mask": 0.8}),
    Face(110, 10, 150, 50, UNCERTAIN, 0.55, {"with_mask": 0.55, "without_mask": 0.45}),
)


def project_with(workspace: Path, *categories: str) -> Project:
    p = Project.create("webcam")
    with p.edit() as ann:
        for c in categories:
            ann.add_category(c)
    return p


def test_a_snapshot_becomes_an_image_with_pre_annotations(workspace: Path) -> None:
    project = project_with(workspace, "with_mask")
    report = save_snapshot(project, snap(*FACES), name="live-1.jpg")
    assert report.image == "live-1.jpg" and report.added == 3
    assert project.image_size("live-1.jpg") == (W, H)
    boxes = project.load().boxes("live-1.jpg")
    assert [b.label for b in boxes] == ["with_mask", NONE, NONE]  # unknown and uncertain -> None
    assert [b.xyxy for b in boxes][0] == (10, 10, 40, 50) and boxes[0].score == 0.9
    assert report.mapping == {"with_mask": "with_mask", "without_mask": NONE, UNCERTAIN: NONE}


def test_a_snapshot_can_add_the_missing_classes(workspace: Path) -> None:
    project = project_with(workspace)
    save_snapshot(project, snap(*FACES), add_categories=("with_mask", "without_mask"), name="a.jpg")
    assert [b.label for b in project.load().boxes("a.jpg")] == ["with_mask", "without_mask", NONE]


def test_a_snapshot_can_label_every_face_as_one_class(workspace: Path) -> None:
    project = project_with(workspace, "with_mask", "no mask")
    save_snapshot(project, snap(*FACES), label="no mask", name="b.jpg")
    assert {b.label for b in project.load().boxes("b.jpg")} == {"no mask"}
    with pytest.raises(LiveError, match="no category 'cat'"):
        save_snapshot(project, snap(*FACES), label="cat")


def test_box_rules_apply_to_snapshots(workspace: Path) -> None:
    project = project_with(workspace)
    twin = Face(12, 12, 40, 50, FACE, 0.7)
    tiny = Face(0, 0, 4, 4, FACE, 0.7)
    report = save_snapshot(project, snap(FACES[0], twin, tiny), name="c.jpg")
    assert report.added == 1 and len(report.refused) == 2
    assert any("overlaps" in r for r in report.refused)


def test_no_snapshot_without_a_processed_frame(workspace: Path) -> None:
    with pytest.raises(LiveError, match="start the camera"):
        save_snapshot(project_with(workspace), None)
    assert LiveProcessor().snapshot() is None


def test_snapshot_names_sort_by_time() -> None:
    from datetime import datetime

    assert snapshot_name(datetime(2026, 1, 2, 3, 4, 5, 678_000)) == "live-20260102-030405-678.jpg"


@pytest.mark.parametrize(
    ("labels", "categories", "unknown"),
    [
        (("with_mask", "without_mask"), ["None", "with_mask", "without_mask"], []),
        (("with_mask", "without_mask"), ["None", "With Mask"], ["without_mask"]),
        ((FACE,), ["None"], []),
    ],
)
def test_label_fit(labels: tuple[str, ...], categories: list[str], unknown: list[str]) -> None:
    assert label_fit(labels, categories)[1] == unknown


# ----- ICE settings ----------------------------------------------------------------------------
def test_no_ice_servers_by_default() -> None:
    s = rtc_settings(env={}, secrets=None)
    assert s.configuration == {"iceServers": []} and s.source == "default" and s.urls == []


@pytest.mark.parametrize(
    ("value", "servers"),
    [
        ('["stun:stun.example.org:3478"]', [{"urls": "stun:stun.example.org:3478"}]),
        (
            '[{"urls": ["turn:t.example.org:3478?transport=udp"], "username": "u", "credential": "p"}]',
            [{"urls": ["turn:t.example.org:3478?transport=udp"], "username": "u", "credential": "p"}],
        ),
        ("[]", []),
    ],
)
def test_ice_servers_from_the_environment(value: str, servers: list[dict]) -> None:
    s = rtc_settings(env={ICE_ENV: value}, secrets={"webrtc": {"ice_servers": ["stun:ignored.org"]}})
    assert s.configuration == {"iceServers": servers} and s.source == ICE_ENV


def test_ice_servers_from_secrets() -> None:
    s = rtc_settings(env={}, secrets={"webrtc": {"ice_servers": [{"urls": "stuns:s.example.org"}]}})
    assert s.configuration == {"iceServers": [{"urls": "stuns:s.example.org"}]}
    assert s.source == "secrets.toml" and "stuns:s.example.org" in s.describe()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[stun", "not valid JSON"),
        ('{"urls": "stun:x.org"}', "wrap it in"),
        ('"stun:x.org"', "must be a list"),
        ('[{"url": "stun:x.org"}]', "unknown key"),
        ('[{"urls": []}]', "non-empty list"),
        ('["http://x.org"]', "'http://x.org' is not a STUN/TURN URL"),
        ('["turn:x.org"]', "needs a 'username' and a 'credential'"),
        ('[{"urls": "stun:x.org", "username": 5}]', "'username' must be text"),
        ("[1]", "an object or a URL string"),
    ],
)
def test_bad_ice_settings_name_the_problem(value: str, message: str) -> None:
    with pytest.raises(IceConfigError, match=message) as info:
        rtc_settings(env={ICE_ENV: value})
    assert ICE_ENV in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_ice_secrets_are_refused() -> None:
    with pytest.raises(IceConfigError, match="must be a table"):
        rtc_settings(env={}, secrets={"webrtc": "stun:x.org"})
    with pytest.raises(IceConfigError, match=r"secrets.toml \[webrtc\] ice_servers\[0\]"):
        compile_ice_servers([{"urls": "ftp:x"}], "secrets.toml [webrtc] ice_servers")


def test_srtp_binding_survives_tensorflow() -> None:
    """aiortc's pylibsrtp imported after TensorFlow used to kill the process (SIGSEGV)."""
    import subprocess
    import sys

    code = (
        "import tensorflow\n"
        "from core.live.rtc import preload_srtp\n"
        "preload_srtp()\n"
        "import pylibsrtp, streamlit_webrtc\n"
        "print('ok')\n"
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
    preload_srtp()  # and a no-op when it is loaded already


def test_settle_heap_freezes_what_is_alive() -> None:
    import gc

    try:
        assert live.settle_heap() > 0 and gc.get_freeze_count() > 0
        assert len(gc.get_objects(2)) < gc.get_freeze_count()
    finally:
        gc.unfreeze()
