"""core.live.processor: the frame callback never waits for the model, stale frames are dropped,
settings swap while streaming, the worker's life, warm-up."""

from __future__ import annotations

import threading
import time

import numpy as np

from core.inference.predictor import FACE, UNCERTAIN, Predictor
from core.live import processor as live
from core.live.processor import LatestFrame, LiveProcessor, warm_up
from core.overlay import class_rgb
from tests.core.live.stubs import BOX, H, StubDetector, StubModel, W, frame, processed, wait_until


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
    s = proc.stats()
    assert s.frames_shown == 5 and s.frames_dropped == 5 - s.frames_processed


def test_the_newest_result_is_drawn_on_the_current_frame(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.process(frame(0))
    wait_until(lambda: processed(proc) >= 1)
    out = proc.process(frame(7))
    x1, y1, x2, y2 = (int(v) for v in BOX)
    assert tuple(out[(y1 + y2) // 2, x1]) == class_rgb(FACE)  # the box's left edge
    assert tuple(out[-1, -1]) == (7, 7, 7)  # the rest is the current frame


def test_boxes_are_scaled_to_a_frame_of_another_size(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.process(frame(0))
    wait_until(lambda: processed(proc) >= 1)
    big = proc.render(np.zeros((2 * H, 2 * W, 3), np.uint8))  # the camera changed resolution
    assert tuple(big[int(BOX[1] + BOX[3]), int(2 * BOX[0])]) == class_rgb(FACE)


def test_stale_boxes_are_not_drawn(proc: LiveProcessor) -> None:
    proc.set_predictor(Predictor(StubDetector()))
    proc.process(frame(0))
    wait_until(lambda: processed(proc) >= 1)
    later = time.monotonic() + live.STALE_S + 1
    out = proc.render(frame(3), now=later)
    assert not np.all(out[int(BOX[1]) + 5, int(BOX[0])] == class_rgb(FACE))


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
    assert proc.stats().frames_shown == 1


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


# ----- warm-up --------------------------------------------------------------------------------
def test_warm_up_runs_the_detector_and_the_model_once() -> None:
    det, model = StubDetector(), StubModel()
    warm_up(Predictor(det, model), size=(64, 48))
    assert det.seen == [0] and model.calls == 1


def test_settle_heap_freezes_what_is_alive() -> None:
    import gc

    try:
        assert live.settle_heap() > 0 and gc.get_freeze_count() > 0
        assert len(gc.get_objects(2)) < gc.get_freeze_count()
    finally:
        gc.unfreeze()
