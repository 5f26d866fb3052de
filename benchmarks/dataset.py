"""Benchmark: import, hash and report on ../shared/data/face_mask_binary_real; prints one JSON object.

    python -m benchmarks.dataset

The import copies the 1,600 images into a temporary workspace (decoding each once to check it
and to fill the hash cache). "hash" is a cold re-scan with the cache deleted; "report" is the
health report on the warm cache; "split" writes the manifest. Target: import + hash + report
under 30 s.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from core.data.dataset import Dataset
from core.data.fingerprints import CACHE_FILE, scan_files
from core.data.folder_import import import_folder
from core.data.health import build_report, health_report
from core.data.split import split_dataset

ROOT = Path(__file__).resolve().parents[1]

SOURCE = (ROOT / ".." / "shared" / "data" / "face_mask_binary_real").resolve()


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MASK_STUDIO_WORKSPACE"] = tmp
        ws = Path(tmp)
        t0 = time.perf_counter()
        ds = Dataset.create("bench", ws)
        built = import_folder(SOURCE, ds)
        t1 = time.perf_counter()
        (ds.root / CACHE_FILE).unlink()
        infos = scan_files(ds.root, ds.all_files())
        t2 = time.perf_counter()
        report = build_report(infos, ds.counts())
        t3 = time.perf_counter()
        warm = health_report(ds)
        t4 = time.perf_counter()
        split = split_dataset(ds, seed=0)
        t5 = time.perf_counter()
        total = (t1 - t0) + (t2 - t1) + (t3 - t2)
        return {
            "dataset": SOURCE.name,
            "images": len(built.written),
            "skipped": len(built.skipped),
            "cpu_count": os.cpu_count(),
            "import_s": round(t1 - t0, 2),
            "hash_cold_s": round(t2 - t1, 2),
            "report_s": round(t3 - t2, 2),
            "report_warm_cache_s": round(t4 - t3, 2),
            "split_s": round(t5 - t4, 2),
            "import_hash_report_s": round(total, 2),
            "target_s": 30,
            "within_target": total < 30,
            "exact_duplicate_groups": len(report.exact_duplicates),
            "near_duplicate_groups": len(report.near_duplicates),
            "cross_class_near_groups": sum(g.cross_class for g in report.near_duplicates),
            "leaks": [leak.message.split(".")[0] for leak in report.leaks],
            "shortcut_accuracy": round(report.shortcut_accuracy, 3),
            "version": split.manifest.version,
            "split_counts": split.manifest.counts(),
            "same_report_warm": len(warm.files) == len(report.files),
        }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
