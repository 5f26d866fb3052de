"""Training benchmark: every model family, default settings, on the two real datasets.

    python -m benchmarks.train [--models lenet,small_vgg,mobilenet_v2]
        [--datasets binary,types5] [--set key=value ...] [--no-loop] [--workspace DIR]

Prints one JSON object. Each run is a separate process (python -m core.training.cli run), so its
wall time includes start-up, decoding (cold cache: fresh workspace), feature extraction,
training and evaluation, and its peak RSS is its own. The data stay in ../shared/data: the
temporary workspace links to the class folders. Splits: core.data.split.assign_splits (stratified,
group-aware) over the near-duplicate groups of each dataset's manifest.csv, seed 0, 70/15/15.
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
from pathlib import Path
from typing import Any

from benchmarks.common import DATASETS, REPO, WEIGHTS, emit, prepare_dataset

MODELS = ("lenet", "small_vgg", "mobilenet_v2")


def read_history(path: Path) -> list[dict[str, Any]]:
    from core.runs.store import read_history as read

    return read(path)


def run_one(root: Path, config: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Train one config in a child process; wall seconds, peak RSS and the run's metrics."""
    from core.runs.config import RECIPE_KEYS
    from models.registry import TRAINING_SETTINGS

    cfg_file = root / f"config-{time.monotonic_ns()}.json"
    cfg_file.write_text(json.dumps(config))
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "core.training.cli", "run", str(cfg_file)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = child.stdout.read().decode() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"state": f"exit {status}"}
    metrics = json.loads((Path(summary["path"]) / "metrics.json").read_text()) if "path" in summary else {}
    run_cfg = json.loads((Path(summary["path"]) / "config.json").read_text()) if "path" in summary else {}
    history = read_history(Path(summary["path"])) if "path" in summary else []
    epochs = metrics.get("epochs_run") or 0
    return {
        "state": summary.get("state"),
        "error": summary.get("error"),
        "settings": {k: run_cfg.get(k) for k in (*TRAINING_SETTINGS, *RECIPE_KEYS)},
        "fast_path": metrics.get("fast_path"),
        "wall_s": round(wall, 1),
        "train_s": metrics.get("train_seconds"),
        "decode_s": metrics.get("decode_seconds"),
        "feature_s": metrics.get("feature_seconds"),
        "train_images_per_s": None,  # filled by the caller (needs the train split size)
        "epochs_run": epochs,
        "epoch_s": [row.get("seconds") for row in history],
        "best_val_accuracy": metrics.get("best_val_accuracy"),
        "test_accuracy": metrics.get("accuracy"),
        "test_macro_f1": metrics.get("macro_f1"),
        "params": metrics.get("params_total"),
        "inference_ms_per_image": metrics.get("inference_ms_per_image"),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def speedup(fast: dict[str, Any], loop: dict[str, Any]) -> dict[str, Any]:
    """Fast path vs frozen base in the loop, from the same benchmark run.

    Measured: the loop run's first `n` epochs against the fast path's feature pass plus its
    first `n` head epochs. Projected: the loop's mean epoch times the fast run's epoch count,
    against the fast run's whole training time.
    """
    n = loop["epochs_run"]
    fast_n = fast["feature_s"] + sum(fast["epoch_s"][:n])
    loop_full = loop["train_s"] / n * fast["epochs_run"]
    return {
        "epochs_compared": n,
        "loop_s_per_epoch": round(loop["train_s"] / n, 2),
        "fast_feature_pass_s": fast["feature_s"],
        "fast_head_s_per_epoch": round(sum(fast["epoch_s"]) / max(1, len(fast["epoch_s"])), 3),
        "measured_ratio_same_epochs": round(loop["train_s"] / fast_n, 1),
        "projected_loop_s_full": round(loop_full, 1),
        "projected_ratio_full": round(loop_full / fast["train_s"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--set", action="append", default=[], help="config override key=JSON value")
    parser.add_argument("--no-loop", action="store_true", help="skip the MobileNetV2 frozen-base-in-loop run")
    parser.add_argument("--loop-epochs", type=int, default=3, help="epochs of the frozen-base-in-loop run")
    parser.add_argument(
        "--workspace", type=Path, help="reuse this workspace (warm caches) instead of a temp one"
    )
    args = parser.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    tmp = Path(tempfile.mkdtemp(prefix="mask-studio-bench-"))
    root = args.workspace or tmp / "workspace"
    keras_home = tmp / "keras"
    (keras_home / "models").mkdir(parents=True)
    for f in WEIGHTS.glob("*.h5"):
        os.symlink(f, keras_home / "models" / f.name)
    os.environ.update({"MASK_STUDIO_WORKSPACE": str(root), "KERAS_HOME": str(keras_home)})
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    from core.data.manifest import list_versions, manifest_path, read_manifest

    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg(),
        },
        "datasets": {},
    }
    t_all = time.perf_counter()
    try:
        for key in args.datasets.split(","):
            name = DATASETS[key]
            known = {d: v for d, v in list_versions(root)}
            version = known.get(name) or prepare_dataset(root, key)
            manifest = read_manifest(manifest_path(name, version, root))
            n_train = sum(manifest.counts()["train"].values())
            entry: dict[str, Any] = {"version": version, "counts": manifest.counts(), "models": {}}
            runs = [(m, m, {}) for m in args.models.split(",")]
            if key == "binary" and "mobilenet_v2" in runs[-1][0] and not args.no_loop:
                runs.append(
                    (
                        "mobilenet_v2_frozen_base_in_loop",
                        "mobilenet_v2",
                        {"fast_path": False, "epochs": args.loop_epochs},
                    )
                )
            for label, model, extra in runs:
                config = {"model": model, "dataset_version": version, **overrides, **extra}
                res = run_one(root, config, env)
                if res["train_s"]:
                    res["train_images_per_s"] = round(n_train * res["epochs_run"] / res["train_s"], 1)
                entry["models"][label] = res
                print(f"# {key} {label}: {json.dumps(res)}", file=sys.stderr, flush=True)
            loop = entry["models"].get("mobilenet_v2_frozen_base_in_loop")
            fast = entry["models"].get("mobilenet_v2")
            if loop and fast and loop["train_s"] and fast["train_s"]:
                entry["fast_path_speedup"] = speedup(fast, loop)
            entry["comparison_wall_s"] = round(
                sum(r["wall_s"] for k, r in entry["models"].items() if k in MODELS), 1
            )
            result["datasets"][key] = entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return emit(result, t_all)


if __name__ == "__main__":
    sys.exit(main())
