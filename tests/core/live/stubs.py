"""Stand-ins shared by the core.live tests: flat frames, a detector that finds one box, a model
with fixed probabilities, and polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from core.errors import ClassifierError, DetectorError
from core.live.processor import LiveProcessor
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


def processed(p: LiveProcessor) -> int:
    return p.stats().frames_processed
