"""Benchmark: import a 5,000-image COCO file with 50,000 boxes, export it as COCO, VOC and YOLO.

    python -m benchmarks.interop [--profile]

The COCO file is synthetic and seeded: 640 x 480 images with 10 boxes each on a 5 x 2 grid of
cells, so every box obeys the box rules and every pair in an image is overlap-checked. Sizes
come from the file (no image files), and the VOC and YOLO exports are zipped as the annotator
does (the YOLO dataset without images). `--profile` adds the ten functions with the most
cumulative time in the import ("load": the box rules in core.annotation.annotations; "formats": the
parsing and writing in core.annotation.formats). Target: import + the three exports <= 10 s.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import emit
from core.annotation.formats import coco, voc, yolo
from core.annotation.formats.archive import zip_files

IMAGES, BOXES_PER_IMAGE, W, H = 5000, 10, 640, 480
CATEGORIES = ["person", "car", "bus", "bike", "dog"]


def synthetic_coco(seed: int = 0) -> bytes:
    rng = random.Random(seed)
    cells = [(c * W // 5, r * H // 2) for r in range(2) for c in range(5)]
    images, annotations = [], []
    for i in range(IMAGES):
        iid = 100_000 + 7 * i  # sparse source ids, as in COCO-2017
        images.append({"id": iid, "file_name": f"{iid:012d}.jpg", "width": W, "height": H})
        for cx, cy in cells[:BOXES_PER_IMAGE]:
            w, h = rng.randint(20, W // 5 - 4), rng.randint(20, H // 2 - 4)
            x, y = cx + rng.randint(0, W // 5 - w - 1), cy + rng.randint(0, H // 2 - h - 1)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": iid,
                    "category_id": 2 * rng.randrange(len(CATEGORIES)) + 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "segmentation": [],
                }
            )
    cats = [{"id": 2 * k + 1, "name": n, "supercategory": "thing"} for k, n in enumerate(CATEGORIES)]
    return json.dumps({"images": images, "categories": cats, "annotations": annotations}).encode()


def top_functions(profile: cProfile.Profile, n: int = 10) -> list[str]:
    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)
    out = []
    for (file, line, name), (_cc, _nc, _tt, ct, _callers) in rows:
        if "core/" in file and len(out) < n:
            out.append(f"{ct:.2f}s {Path(file).parent.name}/{Path(file).name}:{line} {name}")
    return out


def main(profile: bool = False) -> dict[str, Any]:
    data = synthetic_coco()
    sizes: dict[str, tuple[int, int]] = {}
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    result = coco.loads_coco(data)
    if prof:
        prof.disable()
    t1 = time.perf_counter()
    sizes = {f"{100_000 + 7 * i:012d}.jpg": (W, H) for i in range(IMAGES)}
    ann = result.annotations
    coco_bytes = coco.dumps_coco(ann, sizes)
    t2 = time.perf_counter()
    voc_zip = zip_files(voc.dumps_voc(ann, sizes))
    t3 = time.perf_counter()
    yolo_zip = zip_files(yolo.dumps_yolo_dataset(ann, sizes))
    t4 = time.perf_counter()
    out: dict[str, Any] = {
        "benchmark": "interop",
        "images": IMAGES,
        "boxes_in": IMAGES * BOXES_PER_IMAGE,
        "boxes_kept": result.box_count,
        "coco_in_mb": round(len(data) / 1e6, 1),
        "import_s": round(t1 - t0, 2),
        "export_coco_s": round(t2 - t1, 2),
        "export_voc_zip_s": round(t3 - t2, 2),
        "export_yolo_zip_s": round(t4 - t3, 2),
        "import_and_exports_s": round(t4 - t0, 2),
        "target_s": 10,
        "out_mb": {
            "coco": round(len(coco_bytes) / 1e6, 1),
            "voc_zip": round(len(voc_zip) / 1e6, 1),
            "yolo_zip": round(len(yolo_zip) / 1e6, 1),
        },
    }
    if prof:
        out["import_profile_top"] = top_functions(prof)
    return out


if __name__ == "__main__":
    started = time.perf_counter()
    sys.exit(emit(main(profile="--profile" in sys.argv), started))
