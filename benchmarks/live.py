"""Live benchmark: the real stack (app, streamlit-webrtc, headless Chromium's fake 640x480
camera at 30 fps) for 30 s per setting; processed FPS, latency and video lag as one JSON object.

    .venv/bin/python benchmarks/live.py [--seconds 30] [--workspace DIR] [--quick]

1. A MobileNetV2 and a small-VGG run on face_mask_binary_real (core.training.train, default settings,
   split as benchmarks/train.py does); --workspace reuses a workspace and its finished runs.
2. A y4m "webcam" made from the VOC scenes: 4:3 windows around a face (the face about a third of
   the frame wide), slowly panning, 640x480 at 30 fps (the encoder works as for a real camera).
3. The app and Chromium run in a network namespace with loopback only (`unshare -n`, lo up,
   alias 127.0.0.2 because aioice skips 127.0.0.1), Chromium with the fake-camera flags.
4. Per setting (the Live page's defaults: DEFAULT_LIVE_DETECTOR, the run made active, a followed
   face classified on one frame in core.inference.tracking.DEFAULT_EVERY): open /live, START, wait for
   the first boxes, reset the statistics, stream for --seconds, read the page's statistics JSON
   (core.live.processor.LiveProcessor.summary). MobileNetV2 is also measured strict ("every1": every face
   classified on every frame). A last setting streams two sessions at once.

Targets: >= 20 processed FPS with the default detector and MobileNetV2, video lag p95 <= 200 ms.
"Video lag" is measured on the server: how much later than the quickest frame each frame left
for the browser (RTP time stamps against the arrival clock). The helpers below are shared with
tests/e2e/test_live_browser.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
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
WEIGHTS = SHARED / "weights" / "mobilenet_v2_imagenet_no_top"
CHROMIUM = os.environ.get("MASK_STUDIO_CHROMIUM", "/usr/bin/chromium")
FRAME_W, FRAME_H, FPS = 640, 480, 30
IFRAME = "iframe[title='streamlit_webrtc.component.webrtc_streamer']"
TARGETS = {"processed_fps_mobilenet_v2": 20.0, "video_lag_p95_ms": 200.0}
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
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# ----- the fake camera -------------------------------------------------------------------------
def voc_faces(xml_path: Path) -> list[tuple[float, float, float, float]]:
    """The boxes of a Pascal VOC file."""
    boxes = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        bb = obj.find("bndbox")
        if bb is not None:
            boxes.append(tuple(float(bb.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")))
    return boxes  # type: ignore[return-value]


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
    """`streamlit run home.py` in a new network namespace; returns when it answers there."""
    problem = sandbox_problem()
    if problem:
        raise RuntimeError(problem)
    log = folder / "streamlit.log"
    env = dict(os.environ, MASK_STUDIO_WORKSPACE=str(workspace), **(env_extra or {}))
    for key in ("HF_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "CLOUDFLARE_TURN_KEY_ID"):
        env.pop(key, None)  # never ask a TURN credential service
    app_cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "home.py"),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    fh = open(log, "wb")  # noqa: SIM115 - the child writes it until it ends
    proc = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", f'{NETNS_SETUP} && exec "$@"', "sh", *app_cmd],
        cwd=REPO,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    probe = f"import urllib.request; urllib.request.urlopen('{url}/_stcore/health', timeout=2)"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if _in_netns(proc.pid, sys.executable, "-c", probe).returncode == 0:
                break
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"the app did not answer in 120 s:\n{log.read_text(errors='replace')[-3000:]}")
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
    """The sidebar's "Classify a followed face every … frames" (app.ui.live_controls)."""
    from tests.e2e.conftest import wait_for_app

    box = page.get_by_test_id("stSidebar").get_by_role("spinbutton", name="Classify a followed face every")
    box.fill(str(every))
    box.press("Enter")
    wait_for_app(page)


def reset_stats(page: Any) -> None:
    page.get_by_role("button", name="Reset statistics").click()


# ----- the benchmark ---------------------------------------------------------------------------
def setup_env(tmp: Path, workspace: Path | None) -> Path:
    """Seed KERAS_HOME and the workspace (before keras is imported)."""
    from benchmarks.common import seed_env

    return seed_env(tmp, workspace)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads) so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(app_pid: int) -> dict[str, float]:
    """CPU seconds so far: the app's process tree, every Chromium process, the whole machine."""
    parents: dict[int, int] = {}
    browser = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if b"chromium" in cmd.split(b"\0", 1)[0]:
            browser += _cpu_s(int(entry.name))
    tree, grew = {app_pid}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait
    return {"app": sum(_cpu_s(pid) for pid in tree), "browser": browser, "machine": busy}


def measure(page: Any, seconds: float, app_pid: int | None = None) -> dict[str, Any]:
    """START, first boxes, reset, `seconds` of streaming, the statistics; then STOP. With
    `app_pid`, also the cores used meanwhile by the app, by Chromium and by the machine."""
    t0 = time.monotonic()
    start_camera(page)
    wait_stats(page, lambda s: s["frames_processed"] > 0, 180, "a first processed frame")
    first = round(time.monotonic() - t0, 2)
    page.wait_for_timeout(2000)  # the first seconds (JIT, caches) are not part of the measurement
    reset_stats(page)
    wait_stats(page, lambda s: s["seconds"] < 5, 30, "the statistics reset")
    t_cpu, before = time.monotonic(), cpu_split(app_pid) if app_pid is not None else None
    page.wait_for_timeout(seconds * 1000)
    stats = wait_stats(page, lambda s: s["seconds"] >= seconds, 30, f"{seconds} s of statistics")
    out = {"first_processed_frame_after_start_s": first, **stats}
    if before is not None and app_pid is not None:
        after, span = cpu_split(app_pid), time.monotonic() - t_cpu
        out["cores_used"] = {k: round((after[k] - before[k]) / span, 2) for k in before}
    stop_camera(page)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workspace", type=Path, help="reuse this workspace (and its finished runs)")
    parser.add_argument("--quick", action="store_true", help="10 s per setting, no two-session run")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    problem = sandbox_problem()
    if problem:
        print(json.dumps({"error": problem}))
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="mask-studio-live-bench-"))
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": [round(v, 2) for v in os.getloadavg()],
        },
        "camera": f"Chromium fake device, y4m {FRAME_W}x{FRAME_H} at {FPS} fps (VOC windows, panning)",
        "seconds_per_setting": seconds,
    }
    t_all = time.perf_counter()
    sandbox = None
    try:
        root = setup_env(tmp, args.workspace)
        from playwright.sync_api import sync_playwright

        from benchmarks.common import default_runs
        from core.live.processor import DEFAULT_LIVE_DETECTOR
        from core.runs.active_model import clear_active, set_active

        log: dict[str, Any] = {}
        runs = default_runs(root, ("mobilenet_v2", "small_vgg"), log)
        result["runs"] = {**runs, **log}
        y4m = make_fake_camera(tmp / "camera.y4m", slides=8, seconds=1.0, fps=FPS)
        sandbox = start_sandbox(root, tmp)
        settings = [
            ("mobilenet_v2", runs["mobilenet_v2"], None),
            ("mobilenet_v2_every1", runs["mobilenet_v2"], 1),
            ("small_vgg", runs["small_vgg"], None),
            ("faces_only", None, None),
        ]
        result["settings"] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(sandbox.chromium), args=chromium_args(y4m))
            for name, run_id, every in settings:
                if run_id is None:
                    clear_active(root)
                else:
                    set_active(run_id, root)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                open_live(page, sandbox.url)
                if every is not None:
                    set_every(page, every)
                result["settings"][f"{DEFAULT_LIVE_DETECTOR}+{name}"] = measure(
                    page, seconds, sandbox.process.pid
                )
                context.close()
            if not args.quick:
                set_active(runs["mobilenet_v2"], root)
                pages = []
                for _ in range(2):
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    pages.append(context.new_page())
                    open_live(pages[-1], sandbox.url)
                for page in pages:
                    start_camera(page)
                    wait_stats(page, lambda s: s["frames_processed"] > 0, 180, "a first processed frame")
                for page in pages:
                    reset_stats(page)
                pages[0].wait_for_timeout(seconds * 1000)
                both = [wait_stats(p, lambda s: s["seconds"] >= seconds, 30) for p in pages]
                result["settings"][f"two_sessions_{DEFAULT_LIVE_DETECTOR}+mobilenet_v2"] = {
                    f"session_{i + 1}": s for i, s in enumerate(both)
                }
            browser.close()
        main_setting = result["settings"][f"{DEFAULT_LIVE_DETECTOR}+mobilenet_v2"]
        lags = [s["video_lag_ms"]["p95"] for k, s in result["settings"].items() if k.startswith("centerface")]
        strict = result["settings"][f"{DEFAULT_LIVE_DETECTOR}+mobilenet_v2_every1"]
        result["targets"] = {
            "processed_fps_mobilenet_v2": main_setting["processed_fps"],
            "processed_fps_mobilenet_v2_every_face_every_frame": strict["processed_fps"],
            "processed_fps_target": TARGETS["processed_fps_mobilenet_v2"],
            "video_lag_p95_ms_worst_setting": max(v for v in lags if v is not None) if lags else None,
            "video_lag_p95_target_ms": TARGETS["video_lag_p95_ms"],
        }
    finally:
        if sandbox is not None:
            sandbox.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    from benchmarks.common import emit

    return emit(result, t_all)


if __name__ == "__main__":
    sys.exit(main())
