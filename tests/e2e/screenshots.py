"""The README's screenshots (`make screenshots`): the real app on a temporary workspace, driven by
the e2e harness in headless Chromium, saved as PNGs in docs/img/.

    .venv/bin/python -m tests.e2e.screenshots [--out docs/img] [--keep]

The workspace (made here, deleted afterwards unless --keep) holds:
- an annotation project of six VOC scenes from ../shared/data with their own boxes (VOC import);
- four short real runs (LeNet-like at two batch sizes, small VGG, MobileNetV2) trained here on
  150 crops per class of face_mask_binary_real, so Compare shows real curves; none is made
  active, so Predict and Live use the shipped starter model, as on a first start.
The app runs in the loopback-only sandbox of tests/live_harness.py, whose Chromium plays a y4m
"webcam" made from the VOC scenes; without root (no sandbox) Live is left out.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import seed_env
from tests import live_harness as harness
from tests.e2e.conftest import REPO, canvas_box, free_port, start_app, stop_app, wait_for_app

VIEWPORT = {"width": 1400, "height": 900}
PROJECT = "street scenes"
#: harness.VOC scenes of the project (every one has masked and bare faces); the first is shown.
SCENES = ("maksssksksss307", "maksssksksss261", "maksssksksss349", "maksssksksss71", "maksssksksss792")
PREDICT_SCENE = "maksssksksss261"
MAX_PNG_BYTES = 390_000
CROPS_PER_CLASS = 150
RUNS = (  # (model, image size, batch size, epochs): small enough to train in a few minutes
    ("lenet", 64, 16, 8),
    ("lenet", 64, 64, 8),
    ("small_vgg", 64, 32, 8),
    ("mobilenet_v2", 224, 32, 8),
)


def make_project(root: Path) -> str:
    """The annotation project: the scenes' images and their harness.VOC boxes; returns its folder name."""
    from core.annotation.formats.annotation_io import import_annotations
    from core.annotation.formats.archive import zip_files
    from core.annotation.projects import Project

    project = Project.create(PROJECT, root)
    for stem in SCENES:
        image = harness.VOC / "images" / f"{stem}.jpg"
        project.add_image(image.name, image.read_bytes())
    xml = {f"{stem}.xml": (harness.VOC / "annotations" / f"{stem}.xml").read_bytes() for stem in SCENES}
    result = import_annotations(project, "voc", "scenes.zip", zip_files(xml))
    project.import_annotations(result.annotations)
    return project.name


def train_runs(root: Path, tmp: Path) -> list[str]:
    """A folder dataset of CROPS_PER_CLASS crops per class, split, and the RUNS trained on it."""
    from core.data.dataset import Dataset
    from core.data.folder_import import import_folder
    from core.data.split import split_dataset
    from core.runs.config import RunConfig
    from core.training.train import run_here

    source = tmp / "binary"
    for label in ("with_mask", "without_mask"):
        (source / label).mkdir(parents=True)
        for f in sorted((harness.SHARED / "face_mask_binary_real" / label).iterdir())[:CROPS_PER_CLASS]:
            shutil.copy(f, source / label / f.name)
    dataset = Dataset.create("binary sample", root)
    import_folder(source, dataset)
    version = split_dataset(dataset, seed=0).manifest.version
    runs = []
    for model, size, batch, epochs in RUNS:
        config = RunConfig(
            model=model, dataset_version=version, image_size=size, batch_size=batch, epochs=epochs
        )
        runs.append(run_here(config, root))
        print(f"trained {model} (batch {batch}): run {runs[-1]}", flush=True)
    return runs


def shoot(page: Any, path: Path) -> None:
    """Save the viewport as a PNG; one over MAX_PNG_BYTES is reduced to 256 colours."""
    from PIL import Image

    page.wait_for_timeout(800)  # fonts, images and Plotly transitions
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_PNG_BYTES:
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    print(f"saved {path} ({path.stat().st_size // 1024} KB)", flush=True)


def scroll_to(page: Any, locator: Any, block: str = "start") -> None:
    """Scroll the main column until `locator` is at the top (`block`="start") or the middle
    ("center") of the viewport."""
    locator.evaluate(f"el => el.scrollIntoView({{block: '{block}'}})")
    page.wait_for_timeout(500)


def annotate(page: Any, url: str, project: str, out: Path) -> None:
    page.goto(f"{url}/?project={project}&image={SCENES[0]}.jpg")
    wait_for_app(page)
    canvas_box(page)
    wait_for_app(page)
    shoot(page, out / "annotate.png")


def compare(page: Any, url: str, out: Path) -> None:
    page.goto(f"{url}/experiments?section=compare")
    wait_for_app(page)
    charts = page.get_by_test_id("stPlotlyChart")
    charts.first.wait_for(timeout=120_000)
    wait_for_app(page)
    scroll_to(page, charts.first)
    shoot(page, out / "compare.png")


def predict(page: Any, url: str, out: Path) -> None:
    page.goto(f"{url}/predict")
    wait_for_app(page)
    scene = harness.VOC / "images" / f"{PREDICT_SCENE}.jpg"
    page.get_by_test_id("stMain").locator("input[type=file]").first.set_input_files(str(scene))
    page.get_by_role("button", name="Download CSV").first.wait_for(timeout=180_000)
    wait_for_app(page)
    scroll_to(page, page.get_by_test_id("stImage").first, "center")
    shoot(page, out / "predict.png")


def live(page: Any, url: str, log: Path, out: Path) -> None:
    harness.open_live(page, url)
    harness.start_camera(page)
    harness.wait_stats(
        page, lambda s: s["frames_processed"] >= 20 and s["faces_found"] >= 5, 180, "boxed faces", log
    )
    page.wait_for_timeout(4000)  # the chart and the metrics fill in
    shoot(page, out / "live.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mask-studio-screenshots-"))
    root = seed_env(tmp, None)  # before Keras loads
    server = None
    try:
        project = make_project(root)
        train_runs(root, tmp)
        from playwright.sync_api import sync_playwright

        problem = harness.sandbox_problem()
        with sync_playwright() as pw:
            if problem is None:
                y4m = harness.make_fake_camera(tmp / "camera.y4m", slides=6, seconds=2.0, fps=15)
                server = harness.start_sandbox(root, tmp, port=free_port())
                browser = pw.chromium.launch(
                    executable_path=str(server.chromium), args=harness.chromium_args(y4m)
                )
            else:
                print(f"Live is left out: {problem}", flush=True)
                server = start_app(root, tmp / "streamlit.log")
                browser = pw.chromium.launch(
                    executable_path=harness.CHROMIUM, args=harness.LIVE_CHROMIUM_ARGS
                )
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(60_000)
            annotate(page, server.url, project, out)
            compare(page, server.url, out)
            predict(page, server.url, out)
            if problem is None:
                live(page, server.url, server.log, out)
            browser.close()
    finally:
        if isinstance(server, harness.Sandbox):
            server.stop()
        elif server is not None:
            stop_app(server)
        if args.keep:
            print(f"workspace kept: {root}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
