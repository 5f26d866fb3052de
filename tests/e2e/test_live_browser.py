"""Live in a real browser: Chromium's fake camera plays a y4m slideshow of real VOC scenes
(640x480, made at test time); START streams it through the app and back with every face boxed.

The app and Chromium run in a network namespace with loopback only (tests/live_harness.py:
`unshare -n`, lo up, alias 127.0.0.2 because aioice skips 127.0.0.1) with the Chromium flags
--allow-loopback-in-peer-connection and --disable-features=WebRtcHideLocalIpsWithMdns: no
STUN/TURN server, nothing outside the machine. Frames processed and faces boxed are read from
the page's statistics (the session's LiveProcessor); the boxes are also seen in the video.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from core.annotation.projects import Project
from core.inference.predictor import UNCERTAIN
from core.live.processor import DEFAULT_LIVE_DETECTOR
from core.overlay import class_rgb
from tests.e2e.conftest import free_port, select_option, wait_for_app
from tests.live_harness import (
    LIVE_CHROMIUM_ARGS,
    Sandbox,
    chromium_args,
    make_fake_camera,
    open_live,
    sandbox_problem,
    start_camera,
    start_sandbox,
    wait_stats,
    webrtc_frame,
)
from tests.tiny_models import confident_tiny_run

pytestmark = pytest.mark.e2e

AMBER = class_rgb(UNCERTAIN)  # an uncertain face


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, str]]:
    problem = sandbox_problem()
    if problem:
        pytest.fail(f"the Live browser test cannot run here: {problem}")
    base = tmp_path_factory.mktemp("live")
    workspace = base / "workspace"
    workspace.mkdir()
    run_id = confident_tiny_run(workspace)
    y4m = make_fake_camera(base / "camera.y4m", slides=6, seconds=1.0, fps=15)
    sandbox = start_sandbox(workspace, base, port=free_port())
    yield sandbox, y4m, run_id
    sandbox.stop()


@pytest.fixture(scope="module")
def live_browser(live_app: tuple[Sandbox, Path, str], playwright_instance) -> Iterator[object]:
    sandbox, y4m, _ = live_app
    browser = playwright_instance.chromium.launch(
        executable_path=str(sandbox.chromium), args=chromium_args(y4m)
    )
    yield browser
    browser.close()


@pytest.fixture
def new_page(live_browser) -> Iterator[Callable[[], Any]]:
    """Open pages in new browser contexts; every one is closed after the test, passed or failed
    (a page left streaming would slow every later test down)."""
    contexts = []

    def make() -> Any:
        contexts.append(live_browser.new_context(viewport={"width": 1400, "height": 1000}))
        page = contexts[-1].new_page()
        page.set_default_timeout(60_000)
        return page

    yield make
    for context in contexts:
        context.close()


def camera_shaped(width: int, height: int) -> bool:
    """The fake camera's 640x480, or a 4:3 size Chromium scaled it down to: a sender short of
    CPU lowers the resolution it sends (seen in CI: 480x360)."""
    return width * 3 == height * 4 and 160 <= width <= 640


def colour_pixels(page, rgb: tuple[int, int, int], tolerance: int = 60) -> int:
    """Pixels of the shown video within `tolerance` (sum of channel differences) of `rgb`."""
    png = webrtc_frame(page).locator("video").screenshot()
    arr = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    return int((np.abs(arr - np.array(rgb)).sum(axis=1) <= tolerance).sum())


def video_state(page) -> dict:
    return (
        webrtc_frame(page)
        .locator("video")
        .evaluate(
            "v => ({w: v.videoWidth, h: v.videoHeight, t: v.currentTime, mark: v.dataset.mark || null})"
        )
    )


def test_start_streams_boxed_faces_and_controls_apply_while_streaming(
    live_app: tuple[Sandbox, Path, str], new_page: Callable[[], Any]
) -> None:
    sandbox, _, run_id = live_app
    page = new_page()
    open_live(page, sandbox.url)
    expect(page.get_by_text(f"run {run_id}", exact=False).first).to_be_attached()
    start_camera(page)
    stats = wait_stats(
        page,
        lambda s: s["frames_processed"] >= 5 and s["faces_found"] >= 3,
        120,
        "processed frames with faces",
        sandbox.log,
    )
    assert stats["model"] == f"run {run_id}" and stats["detector"] == DEFAULT_LIVE_DETECTOR
    assert stats["error"] is None
    # the server's video comes back into the page, at the size the camera frames arrive in
    state = video_state(page)
    assert camera_shaped(state["w"], state["h"]), state
    page.wait_for_function(
        "([sel, t]) => document.querySelector(sel).contentDocument.querySelector('video').currentTime > t",
        arg=["iframe[title='streamlit_webrtc.component.webrtc_streamer']", state["t"]],
    )
    webrtc_frame(page).locator("video").evaluate("v => { v.dataset.mark = 'same element'; }")

    # Controls while streaming; the stream is never restarted. Threshold 1: every face uncertain.
    amber_before = colour_pixels(page, AMBER)
    page.get_by_test_id("stSidebar").get_by_role("slider").focus()
    page.keyboard.press("End")
    wait_for_app(page)
    wait_stats(page, lambda s: s["threshold"] == 1.0 and s["faces_found"] >= 3, 60, "faces at threshold 1")
    amber_after = max(colour_pixels(page, AMBER) for _ in range(3))
    print(f"amber pixels in the video: {amber_before} at the run's threshold, {amber_after} at 1.0")
    assert amber_after > amber_before + 50  # the boxes turned "uncertain" amber in the video
    page.get_by_test_id("stSidebar").get_by_text("No model (find faces only)").click()
    wait_for_app(page)
    wait_stats(
        page, lambda s: s["model"] is None and s["faces_found"] >= 3, 60, "faces found without a model"
    )
    select_option(
        page, "Face detector", "yunet: YuNet (libfacedetection): fast, but misses more masked and small faces"
    )
    wait_stats(
        page, lambda s: s["detector"] == "yunet" and s["frames_processed"] >= 5, 60, "frames via yunet"
    )
    assert video_state(page)["mark"] == "same element"
    expect(webrtc_frame(page).get_by_role("button", name="STOP")).to_be_visible()

    # Snapshot: the raw frame and its boxes land in a new annotation project.
    page.get_by_test_id("stSidebar").get_by_label("New project name").fill("webcam")
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Snapshot").click()
    expect(page.get_by_text("to project webcam with", exact=False)).to_be_visible(timeout=60_000)
    project = Project.open("webcam", sandbox.workspace)
    (image,) = project.list_images()
    assert camera_shaped(*project.image_size(image))  # the raw frame as the server received it
    assert project.load().boxes(image)  # the faces, as pre-annotations


def test_two_sessions_stream_at_once(
    live_app: tuple[Sandbox, Path, str], new_page: Callable[[], Any]
) -> None:
    """A second user starts while the first streams; then both go on being processed."""
    sandbox, _, _ = live_app
    pages = [new_page() for _ in range(2)]
    for page in pages:
        open_live(page, sandbox.url)
    for page in pages:
        start_camera(page)
        wait_stats(page, lambda s: s["frames_processed"] >= 3, 120, "a session's first frames", sandbox.log)
    before = [wait_stats(page, lambda s: True)["frames_processed"] for page in pages]
    for page, n in zip(pages, before, strict=True):
        wait_stats(
            page,
            lambda s, n=n: s["frames_processed"] >= n + 15,
            120,
            "both sessions still processing",
            sandbox.log,
        )


def test_a_missing_camera_is_explained(live_app: tuple[Sandbox, Path, str], live_browser) -> None:
    sandbox, _, _ = live_app
    args = [a for a in LIVE_CHROMIUM_ARGS if "fake-device" not in a]  # no camera at all
    browser = live_browser.browser_type.launch(executable_path=str(sandbox.chromium), args=args)
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        open_live(page, sandbox.url)
        webrtc_frame(page).get_by_role("button", name="START").click()
        expect(webrtc_frame(page).get_by_text("NotFoundError", exact=False)).to_be_visible()
        expect(page.get_by_text("NotFoundError: no camera is connected", exact=False)).to_be_visible()
        assert wait_stats(page, lambda s: True)["frames_shown"] == 0
    finally:
        browser.close()
