"""Live in a real browser, shared by tests/e2e/test_live_browser.py, benchmarks/live.py and
the screenshots script: a y4m "webcam" made from the VOC scenes for Chromium's fake camera, the
app in a network namespace with loopback only, and helpers that drive the Live page.

The sandbox: `unshare -n`, lo up, alias 127.0.0.2 (aioice skips 127.0.0.1); Chromium joins the
namespace through a wrapper script and runs with --allow-loopback-in-peer-connection and
--disable-features=WebRtcHideLocalIpsWithMdns: no STUN/TURN server, nothing outside the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "data").resolve()
VOC = SHARED / "face_mask_detection_voc"
CHROMIUM = os.environ.get("MASK_STUDIO_CHROMIUM", "/usr/bin/chromium")
FRAME_W, FRAME_H, FPS = 640, 480, 30
IFRAME = "iframe[title='streamlit_webrtc.component.webrtc_streamer']"
#: Chromium flags for a fake camera playing a y4m file and WebRTC over loopback only.
LIVE_CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # a page in the background must not throttle its video (two sessions side by side)
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


# ----- the fake camera -------------------------------------------------------------------------
def voc_faces(xml_path: Path) -> list[tuple[float, float, float, float]]:
    """The boxes of a Pascal VOC file."""
    boxes = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        bb = obj.find("bndbox")
        if bb is not None:
            boxes.append(tuple(float(bb.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")))
    return boxes


def webcam_slides(n: int, min_face: float = 40.0, face_share: float = 0.32) -> list[tuple[np.ndarray, tuple]]:
    """(scene, 4:3 window) pairs: the VOC scenes whose largest face is >= `min_face` px wide, the
    window `1/face_share` times that face's width, centred on it (clamped into the scene)."""
    from core.imaging import load_rgb_array

    slides = []
    for xml in sorted((VOC / "annotations").glob("*.xml")):
        boxes = voc_faces(xml)
        if not boxes:
            continue
        x1, y1, x2, y2 = max(boxes, key=lambda b: b[2] - b[0])
        if x2 - x1 < min_face:
            continue
        images = list((VOC / "images").glob(f"{xml.stem}.*"))
        if not images:
            continue
        scene = load_rgb_array(images[0])
        h, w = scene.shape[:2]
        ww = min((x2 - x1) / face_share, w, h * 4 / 3)
        wh = ww * 3 / 4
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left = min(max(cx - ww / 2, 0), w - ww)
        top = min(max(cy - wh / 2, 0), h - wh)
        slides.append((scene, (left, top, ww, wh)))
        if len(slides) >= n:
            break
    return slides


def slideshow_frames(
    slides: list[tuple[np.ndarray, tuple]],
    seconds: float,
    fps: int,
    size: tuple[int, int] = (FRAME_W, FRAME_H),
) -> Iterator[np.ndarray]:
    """RGB frames: each slide's window for `seconds`, panning slowly (a tenth of its width)."""
    import cv2

    per = max(1, round(seconds * fps))
    for scene, (left, top, ww, wh) in slides:
        h, w = scene.shape[:2]
        for i in range(per):
            shift = (i / max(per - 1, 1) - 0.5) * ww * 0.1
            x0 = min(max(left + shift, 0), w - ww)
            m = np.array([[size[0] / ww, 0, -x0 * size[0] / ww], [0, size[1] / wh, -top * size[1] / wh]])
            yield cv2.warpAffine(scene, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def write_y4m(
    path: Path, frames: Iterator[np.ndarray], fps: int, size: tuple[int, int] = (FRAME_W, FRAME_H)
) -> int:
    """Write RGB frames as a YUV4MPEG2 (4:2:0) file for --use-file-for-fake-video-capture; frames."""
    import cv2

    w, h = size
    n = 0
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            if frame.shape[:2] != (h, w):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            fh.write(b"FRAME\n")
            fh.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420).tobytes())
            n += 1
    os.replace(tmp, path)
    return n


def make_fake_camera(path: Path, slides: int = 8, seconds: float = 1.0, fps: int = FPS) -> Path:
    """A y4m slideshow of webcam-like VOC windows at 640x480 (made at test time, never committed)."""
    write_y4m(path, slideshow_frames(webcam_slides(slides), seconds, fps), fps)
    return path


# ----- the loopback-only sandbox ---------------------------------------------------------------
@dataclass
class Sandbox:
    """The app in its own network namespace (loopback only) and a Chromium wrapper that joins it."""

    url: str
    workspace: Path
    process: subprocess.Popen[bytes]
    log: Path
    chromium: Path  # a script that runs Chromium inside the namespace

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


NETNS_SETUP = "ip link set lo up && ip addr add 127.0.0.2/8 dev lo"


def sandbox_problem() -> str | None:
    """Why the sandbox cannot run here (not root, no unshare/nsenter/ip/Chromium), or None."""
    if os.geteuid() != 0:
        return "the loopback sandbox needs root (unshare -n, nsenter)"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}"
    return None


def _in_netns(pid: int, *cmd: str, timeout: float = 10) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", *cmd], capture_output=True, timeout=timeout
    )


def start_sandbox(
    workspace: Path, folder: Path, env_extra: dict[str, str] | None = None, port: int = 8501
) -> Sandbox:
    """The app (tests.e2e.conftest.app_command) in a new network namespace; returns when it
    answers there."""
    from tests.e2e.conftest import app_command, wait_until_answers

    problem = sandbox_problem()
    if problem:
        raise RuntimeError(problem)
    log = folder / "streamlit.log"
    env = dict(os.environ, MASK_STUDIO_WORKSPACE=str(workspace), **(env_extra or {}))
    for key in ("HF_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "CLOUDFLARE_TURN_KEY_ID"):
        env.pop(key, None)  # never ask a TURN credential service
    fh = open(log, "wb")
    proc = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", f'{NETNS_SETUP} && exec "$@"', "sh", *app_command(port)],
        cwd=REPO,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    probe = f"import urllib.request; urllib.request.urlopen('{url}/_stcore/health', timeout=2)"

    def healthy() -> bool:
        try:
            return _in_netns(proc.pid, sys.executable, "-c", probe).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    wait_until_answers(proc, log, healthy, 120)
    wrapper = folder / "chromium-in-netns.sh"
    wrapper.write_text(f'#!/bin/sh\nexec nsenter --net=/proc/{proc.pid}/ns/net {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return Sandbox(url, workspace, proc, log, wrapper)


def chromium_args(y4m: Path) -> list[str]:
    return [*LIVE_CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={y4m}"]


# ----- driving the Live page -------------------------------------------------------------------
def webrtc_frame(page: Any) -> Any:
    """The streamlit-webrtc component's iframe (a Playwright FrameLocator)."""
    return page.frame_locator(IFRAME)


def live_stats(page: Any) -> dict[str, Any] | None:
    """The page's statistics JSON (the fragment refreshes it every second), or None."""
    code = page.get_by_test_id("stExpander").filter(has_text="Stream statistics").get_by_test_id("stCode")
    if code.count() == 0:
        return None
    try:
        return json.loads(code.first.text_content(timeout=5_000) or "")
    except (json.JSONDecodeError, Exception):  # noqa: BLE001 - replaced by the next refresh
        return None


def wait_stats(
    page: Any, ok: Any, timeout_s: float = 120, what: str = "statistics", log: Path | None = None
) -> dict[str, Any]:
    """Poll the statistics JSON until `ok(stats)` holds; TimeoutError with the last JSON, the
    component's own text and, given the app's `log`, its last lines."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = live_stats(page)
        if last is not None and ok(last):
            return last
        page.wait_for_timeout(250)
    try:
        component = webrtc_frame(page).locator("body").inner_text(timeout=5_000)
    except Exception as exc:  # noqa: BLE001 - only a diagnostic
        component = f"(unreadable: {exc})"
    tail = ""
    if log is not None and log.exists():
        tail = "\napp log, last lines:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise TimeoutError(
        f"{what} not reached in {timeout_s} s; last statistics: {last}; component: {component!r}{tail}"
    )


def open_live(page: Any, url: str) -> None:
    """Open the Live page and wait until the component and the statistics are there."""
    from tests.e2e.conftest import wait_for_app

    page.goto(f"{url}/live")
    wait_for_app(page)
    webrtc_frame(page).get_by_role("button", name="START").wait_for(timeout=120_000)


def start_camera(page: Any) -> None:
    webrtc_frame(page).get_by_role("button", name="START").click()
    webrtc_frame(page).get_by_role("button", name="STOP").wait_for(timeout=60_000)


def stop_camera(page: Any) -> None:
    webrtc_frame(page).get_by_role("button", name="STOP").click()
    webrtc_frame(page).get_by_role("button", name="START").wait_for(timeout=60_000)


def set_every(page: Any, every: int) -> None:
    """The sidebar's "Classify a followed face every … frames" (app.live.controls)."""
    from tests.e2e.conftest import wait_for_app

    box = page.get_by_test_id("stSidebar").get_by_role("spinbutton", name="Classify a followed face every")
    box.fill(str(every))
    box.press("Enter")
    wait_for_app(page)


def reset_stats(page: Any) -> None:
    page.get_by_role("button", name="Reset statistics").click()
