"""Scenes and frames the Predict and scene benchmarks share: the VOC scenes with their boxes,
640x480 webcam-like frames cut from them or taken from a webcam GIF, and the per-frame speed report.

A library module (no `__main__`): imported by benchmarks.predict and benchmarks.scenes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.common import SHARED

VOC = SHARED / "face_mask_detection_voc"
GIF = SHARED / "video" / "chandrikadeb7_demo_gifs" / "demo_webcam_mask_on_off.gif"
FRAME_W, FRAME_H = 640, 480


def rounded(v: float | None, n: int = 4) -> float | None:
    """`v` rounded to `n` places as a plain float (None stays None), for JSON."""
    return None if v is None else round(float(v), n)


def percentiles(ts: list[float]) -> dict[str, Any]:
    """p50 and p95 of the times `ts` (ms), and how many there were."""
    return {
        "p50": rounded(np.percentile(ts, 50), 1),
        "p95": rounded(np.percentile(ts, 95), 1),
        "frames": len(ts),
    }


# ----- frames -----------------------------------------------------------------------------------
def load_scenes(limit: int | None) -> list[tuple[str, np.ndarray, list[tuple[str, tuple[float, ...]]]]]:
    from benchmarks.faces import load_voc
    from core.imaging import load_rgb_array

    paths = sorted((VOC / "images").glob("*.jpg"))[:limit]
    return [(p.name, load_rgb_array(p), load_voc(VOC / "annotations" / f"{p.stem}.xml")) for p in paths]


def crop_frames(scenes: list, limit: int) -> list[np.ndarray]:
    """640x480 frames with 1-3 faces: a 4:3 window 4x as wide as one face (>= 25 px), cut from a
    scene and scaled up, so the face fills about a quarter of the frame width, as at a webcam."""
    import cv2

    frames = []
    for _, image, objects in scenes:
        h, w = image.shape[:2]
        for _, (x1, y1, x2, y2) in sorted(objects, key=lambda o: o[1][0] - o[1][2]):
            fw = x2 - x1
            ww, wh = 4 * fw, 3 * fw
            if fw < 25 or ww > w or wh > h:
                continue
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            left = int(min(max(cx - ww / 2, 0), w - ww))
            top = int(min(max(cy - wh / 2, 0), h - wh))
            inside = [
                b
                for _, b in objects
                if left <= (b[0] + b[2]) / 2 <= left + ww and top <= (b[1] + b[3]) / 2 <= top + wh
            ]
            if 1 <= len(inside) <= 3:
                window = image[top : top + int(wh), left : left + int(ww)]
                frames.append(cv2.resize(window, (FRAME_W, FRAME_H), interpolation=cv2.INTER_LINEAR))
                break
        if len(frames) >= limit:
            break
    return frames


def gif_frames(limit: int) -> list[np.ndarray]:
    """Webcam frames (one person; upstream overlays drawn in), letterboxed to 640x480."""
    from PIL import Image, ImageSequence

    frames = []
    with Image.open(GIF) as gif:
        for i, frame in enumerate(ImageSequence.Iterator(gif)):
            if i % 3:
                continue
            rgb = np.asarray(frame.convert("RGB"))
            canvas = np.zeros((FRAME_H, FRAME_W, 3), np.uint8)
            h, w = min(rgb.shape[0], FRAME_H), min(rgb.shape[1], FRAME_W)
            canvas[:h, :w] = rgb[:h, :w]
            frames.append(canvas)
            if len(frames) >= limit:
                break
    return frames


# ----- speed ------
def speed_report(predictors: dict[str, Any], frame_sets: dict[str, list[np.ndarray]], repeats: int) -> dict:
    """p50/p95 ms per frame (detect + crop + classify) for every predictor, taking turns."""
    out: dict[str, Any] = {}
    for set_name, frames in frame_sets.items():
        for p in predictors.values():
            for f in frames[:3]:
                p.predict(f)
        times: dict[str, list[float]] = {k: [] for k in predictors}
        faces: dict[str, list[int]] = {k: [] for k in predictors}
        adaptive = {id(p.detector): p.detector for p in predictors.values() if hasattr(p.detector, "passes")}
        before = {k: d.passes for k, d in adaptive.items()}
        for _ in range(repeats):
            for f in frames:
                for key, p in predictors.items():
                    t0 = time.perf_counter()
                    found = p.predict(f)
                    times[key].append((time.perf_counter() - t0) * 1000)
                    faces[key].append(len(found))
        entry: dict[str, Any] = {"frames": len(frames)}
        for key in predictors:
            entry[key] = {**percentiles(times[key]), "faces_per_frame": rounded(np.mean(faces[key]), 2)}
        for det in {k.rsplit("+", 1)[0] for k in predictors}:
            fast, ref = entry.get(f"{det}+fast"), entry.get(f"{det}+predict")
            if fast and ref:
                entry[f"{det}:predict_over_fast_p50"] = rounded(ref["p50"] / fast["p50"], 2)
        for k, d in adaptive.items():
            fine = d.passes["fine"] - before[k]["fine"]
            total = fine + d.passes["coarse_only"] - before[k]["coarse_only"]
            entry[f"{d.name}:share_of_frames_needing_the_fine_pass"] = rounded(
                fine / total if total else None, 3
            )
        out[set_name] = entry
    return out
