"""The face grid's key-pace scenario, shared by tests/e2e/test_face_grid_browser.py and
benchmarks/annotate.py: a photo with 20 pre-annotated ("None") faces, keys pressed at a fixed
pace, and when each label showed in the grid and when all were saved."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.annotation.annotations import Box
from core.annotation.formats.seed_json import load_seed_json
from core.annotation.projects import Project

FACES = 20
PHOTO_W, PHOTO_H = 1200, 800

#: Installed in the page: the time (epoch ms) each grid cell's label last changed.
RECORDER = """() => {
  window.__labelTimes = {};
  const seen = new Set();
  const watch = () => document.querySelectorAll('.fg-cell').forEach((c) => {
    if (seen.has(c)) return; seen.add(c);
    new MutationObserver(() => {
      (window.__labelTimes[c.dataset.id] ??= []).push([performance.timeOrigin + performance.now(), c.dataset.label]);
    }).observe(c, {attributes: true, attributeFilter: ['data-label']});
  });
  watch();
  new MutationObserver(watch).observe(document.body, {childList: true, subtree: true});
}"""


def twenty_face_project(workspace: Path, name: str, faces: int = FACES) -> tuple[Project, str, list[Box]]:
    """A project with one noisy photo holding `faces` boxes labelled "None" (a pre-annotated
    photo), two categories; the project, the image name and its boxes (with their ids)."""
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 255, (PHOTO_H, PHOTO_W, 3), dtype=np.uint8)
    path = workspace / f"{name}.jpg"
    Image.fromarray(arr).save(path, quality=85)
    project = Project.create(name, workspace)
    image = project.add_image("crowd.jpg", path.read_bytes())
    with project.edit() as ann:
        ann.add_category("with_mask")
        ann.add_category("without_mask")
        for i in range(faces):
            x, y = 40 + (i % 5) * 220, 60 + (i // 5) * 180
            ann.add_box(image, Box(x, y, x + 15 + 5 * (i % 4), y + 18 + 5 * (i % 4)))
    return project, image, project.load().boxes(image)


def saved_labels(project: Project, image: str) -> list[str]:
    return [b.label for b in load_seed_json(project.annotations_path).annotations.boxes(image)]


def press_at_pace(
    page: Any, project: Project, image: str, keys: list[str], gap_ms: int = 120, save_wait_s: float = 20.0
) -> dict[str, Any]:
    """Click the first face, press `keys` `gap_ms` apart; returns each key's time to visible
    (ms), the labels saved, and the time from the last key until every label was saved."""
    cells = page.locator(".fg-cell")
    cells.first.click()
    page.evaluate(RECORDER)
    boxes = load_seed_json(project.annotations_path).annotations.boxes(image)
    names = {"1": "with_mask", "2": "without_mask", "0": "None"}
    pressed: list[tuple[float, str, str]] = []  # (epoch ms, box id expected to change, label)
    for i, key in enumerate(keys):
        t = time.time() * 1000
        page.keyboard.press(key)
        pressed.append((t, boxes[i].id, names[key]))
        page.wait_for_timeout(max(0, gap_ms - (time.time() * 1000 - t)))
    last = time.time()
    want = [names[k] for k in keys] + ["None"] * (len(boxes) - len(keys))
    saved_after = None
    while time.time() - last < save_wait_s:
        if saved_labels(project, image) == want:
            saved_after = time.time() - last
            break
        time.sleep(0.05)
    times = page.evaluate("() => window.__labelTimes")
    visible = []
    for t, box_id, label in pressed:
        shown = [ts for ts, lab in times.get(box_id, []) if lab == label and ts >= t - 5]
        visible.append(round(shown[0] - t, 1) if shown else None)
    return {
        "keys": len(keys),
        "gap_ms": gap_ms,
        "visible_ms": visible,
        "saved": sum(a == b for a, b in zip(saved_labels(project, image), want, strict=False) if b != "None"),
        "saved_after_last_key_s": None if saved_after is None else round(saved_after, 3),
    }


def wait_saved(ready: Callable[[], bool], seconds: float = 30.0) -> None:
    """Poll `ready` every 0.1 s until it is true; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise AssertionError("not saved in time")


def p95(values: list[float]) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), 95))
