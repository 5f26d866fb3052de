"""How long ranking 1,000 faces for review takes (target: at most 30 s on this machine).

    python -m benchmarks.review_rank [--faces 1000] [--workspace DIR]

A project holds the 100 shared VOC scenes with their labelled faces as "None" boxes, plus single
face photos of `face_mask_binary_real` (one "None" box over each) until there are `--faces`
faces. The queue is built twice with the starter model: cold (a fresh process: the model
loaded, every face cropped, classified and its base features computed) and warm (the base
features come from the feature bank). No detector runs (every photo is boxed); the detector's
per-photo cache is measured by tests, not here. `*_cpu_s` is the process's CPU time (both
cores together): on a shared machine the wall time depends on the other processes' load, the
CPU time much less. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from benchmarks.common import SHARED, emit, seed_env


def make_project(faces: int) -> int:
    from core.annotation.annotations import NONE, Box
    from core.annotation.projects import Project
    from core.imaging import image_size

    project = Project.create("bench")
    voc = SHARED / "face_mask_detection_voc"
    boxes: dict[str, list[Box]] = {}
    for xml in sorted((voc / "annotations").glob("*.xml")):
        root = ET.parse(xml).getroot()
        name = root.findtext("filename") or ""
        if not (voc / "images" / name).is_file():
            continue
        stored = project.add_image(name, (voc / "images" / name).read_bytes())
        found = []
        for obj in root.iter("object"):
            bb = obj.find("bndbox")
            if bb is not None:
                found.append(
                    Box.from_xyxy(
                        [float(bb.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")], NONE
                    )
                )
        boxes[stored] = found
    total = sum(len(v) for v in boxes.values())
    crops = sorted((SHARED / "face_mask_binary_real").glob("*/*"))
    for path in crops[:: max(1, len(crops) // max(1, faces - total))]:
        if total >= faces:
            break
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        stored = project.add_image(f"{path.parent.name}_{path.name}", path.read_bytes())
        w, h = image_size(project.image_path(stored))
        boxes[stored] = [Box(0, 0, w, h, NONE)]
        total += 1
    added = 0
    with project.edit("benchmark faces") as ann:
        for image, found in boxes.items():
            got, _ = ann.try_add_boxes(image, found)
            added += len(got)
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.review_rank", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--faces", type=int, default=1000)
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "load_avg_start": [round(v, 2) for v in os.getloadavg()]}
    }
    with tempfile.TemporaryDirectory(prefix="mask-studio-review-") as tmp:
        root = seed_env(Path(tmp), args.workspace)
        result["faces_in_project"] = make_project(args.faces)
        t0 = time.perf_counter()
        from core.review.queue import build_queue
        from core.review.ranking import load_classifier, model_info
        from core.review.sources import Source

        result["import_s"] = round(time.perf_counter() - t0, 2)
        t0, c0 = time.perf_counter(), time.process_time()
        info = model_info("starter", root)
        classifier = load_classifier(info, root)
        result["model_load_s"] = round(time.perf_counter() - t0, 2)
        result["model_load_cpu_s"] = round(time.process_time() - c0, 2)
        for run in ("cold", "warm"):
            t0, c0 = time.perf_counter(), time.process_time()
            queue = build_queue(Source("project", "bench"), "starter", root, classifier=classifier)
            result[f"rank_{run}_s"] = round(time.perf_counter() - t0, 2)
            result[f"rank_{run}_cpu_s"] = round(time.process_time() - c0, 2)
            result[f"queued_{run}"] = len(queue.entries)
        result["notes"] = queue.notes
        result["random_in_queue"] = sum(e.random for e in queue.entries)
        result["target_s"] = 30
        result["met_cold_with_model_load"] = result["rank_cold_s"] + result["model_load_s"] <= 30
    return emit(result, started)


if __name__ == "__main__":
    raise SystemExit(main())
