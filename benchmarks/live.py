"""Live benchmark: the real stack (app, streamlit-webrtc, headless Chromium's fake 640x480
camera at 30 fps) for 30 s per setting; processed FPS, latency and video lag as one JSON object.

    python -m benchmarks.live [--seconds 30] [--workspace DIR] [--quick]

1. A MobileNetV2 and a small-VGG run on face_mask_binary_real (core.training.train, default settings,
   split as benchmarks/train.py does); --workspace reuses a workspace and its finished runs.
2. A y4m "webcam" made from the VOC scenes: 4:3 windows around a face (the face about a third of
   the frame wide), slowly panning, 640x480 at 30 fps (the encoder works as for a real camera).
3. The app and Chromium run in a network namespace with loopback only (`unshare -n`, lo up,
   alias 127.0.0.2 because aioice skips 127.0.0.1), Chromium with the fake-camera flags.
4. Per setting (the Live page's defaults: DEFAULT_LIVE_DETECTOR, the run made active, a followed
   face classified on one frame in core.inference.tracking.DEFAULT_EVERY): open /live, START, wait for
   the first boxes, reset the statistics, stream for --seconds, read the page's statistics JSON
   (core.live.stats.LiveStats). MobileNetV2 is also measured strict ("every1": every face
   classified on every frame). A last setting streams two sessions at once.

Targets: >= 20 processed FPS with the default detector and MobileNetV2, video lag p95 <= 200 ms.
"Video lag" is measured on the server: how much later than the quickest frame each frame left
for the browser (RTP time stamps against the arrival clock). The fake camera, the sandbox and
the page helpers are tests/live_harness.py, shared with tests/e2e/test_live_browser.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import seed_env
from tests.live_harness import (
    FPS,
    FRAME_H,
    FRAME_W,
    chromium_args,
    make_fake_camera,
    open_live,
    reset_stats,
    sandbox_problem,
    set_every,
    start_camera,
    start_sandbox,
    stop_camera,
    wait_stats,
)

TARGETS = {"processed_fps_mobilenet_v2": 20.0, "video_lag_p95_ms": 200.0}


# ----- the benchmark ---------------------------------------------------------------------------
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
        root = seed_env(tmp, args.workspace)
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
