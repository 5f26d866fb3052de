"""How long the first Predict takes on a fresh workspace: the starter model loaded (with its LiteRT
copy checked against Keras), the default detector loaded, and one VOC scene predicted.

    python -m benchmarks.first_predict [--no-shipped-litert]

Each measurement runs in a fresh process on a new, empty workspace (nothing cached), as a new
user's first "Try Predict now" does. `--no-shipped-litert` points the starter at a copy of
models/starter without model.tflite, which is what every first Predict paid before it shipped.
Prints JSON: wall seconds per step and in all, and the backend the starter ended on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SHARED, seed_env


def first_predict(no_shipped: bool) -> dict[str, object]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mask-studio-first-") as tmp:
        t = Path(tmp)
        root = seed_env(t, None)
        if no_shipped:
            import os

            from core.runs.starter import ENV_VAR, LITERT_FILE, starter_dir

            copy = t / "starter"
            shutil.copytree(starter_dir(), copy)
            (copy / LITERT_FILE).unlink(missing_ok=True)
            os.environ[ENV_VAR] = str(copy)
        from core.imaging import load_rgb_array
        from core.inference.predictor import Predictor
        from core.runs.starter import starter_classifier
        from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector

        imported = time.perf_counter()
        clf = starter_classifier(root=root)
        loaded = time.perf_counter()
        predictor = Predictor(get_detector(DEFAULT_PREDICT_DETECTOR), clf, 0.0)
        scene = sorted((SHARED / "face_mask_detection_voc").rglob("*.jpg"))[0]
        faces = predictor.predict(load_rgb_array(scene))
        done = time.perf_counter()
    return {
        "shipped_litert": not no_shipped,
        "backend": clf.backend,
        "faces": len(faces),
        "import_s": round(imported - started, 2),
        "starter_load_s": round(loaded - imported, 2),
        "detect_and_classify_s": round(done - loaded, 2),
        "total_s": round(done - started, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-shipped-litert", action="store_true")
    args = parser.parse_args()
    print(json.dumps(first_predict(args.no_shipped_litert), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
