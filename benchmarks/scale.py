"""Scale benchmark: the same short runs through the local worker and through a Ray head, and a
model of a 200-run sweep on N nodes built from the measured per-run times.

    python -m benchmarks.scale [--runs 8] [--epochs 1] [--cpus 2]

Prints one JSON object. Both executors train `--runs` LeNet runs (32 px, `--epochs` epochs) of
one synthetic two-class dataset version (tests/models/synth.py; 100/20/20 images per class),
queued at once, in fresh workspaces. The Ray head is a real local one (tests/ray_head.py:
loopback, token auth, `--cpus` CPUs); the local worker trains one run at a time. A run's
overhead is its wall time from claim to finish minus the time it spent in training
(metrics.json's total_seconds: decode, fit, evaluate): the worker's start-up, TensorFlow's import,
dispatch, the dataset's trip through the object store and the copy back.

The 200-run model (on paper): a node runs `--cpus` runs at a time, each taking the measured
mean Ray wall time per run; N nodes split the sweep evenly. It assumes nodes like this machine
and no shared-storage limits; it is an estimate, not a measurement.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.common import emit, seed_env

SWEEP = 200
NODES = (1, 2, 4, 8, 16)


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def run_batch(root: Path, version: str, runs: int, epochs: int) -> dict[str, Any]:
    """Queue `runs` runs, start the worker (whichever executor the environment names), wait."""
    from core.runs.store import load_run, wait_for
    from core.training import worker

    base = {"model": "lenet", "dataset_version": version, "image_size": 32, "neurons": 16, "augment": False}
    t0 = time.perf_counter()
    ids = [worker.enqueue({**base, "epochs": epochs, "seed": i}, root, start=False) for i in range(runs)]
    worker.ensure_worker(root)
    states = [wait_for(i, root, timeout=1800, poll=0.2) for i in ids]
    wall = time.perf_counter() - t0
    records = [load_run(i, root) for i in ids]
    per_run = [_seconds(r.status["started_at"], r.status["finished_at"]) for r in records]
    trained = [float((r.metrics or {}).get("total_seconds", 0.0)) for r in records]
    overhead = [w - t for w, t in zip(per_run, trained, strict=True)]
    first_start = min(_seconds(r.status["created_at"], r.status["started_at"]) for r in records)
    for child in list(worker._children):
        child.wait(timeout=120)
    return {
        "states": sorted(set(states)),
        "wall_s": round(wall, 1),
        "run_wall_mean_s": round(statistics.mean(per_run), 2),
        "train_mean_s": round(statistics.mean(trained), 2),
        "overhead_per_run_mean_s": round(statistics.mean(overhead), 2),
        "overhead_per_run_median_s": round(statistics.median(overhead), 2),
        "overhead_per_run_max_s": round(max(overhead), 2),
        # queue -> first claim: the worker's start, and on Ray connecting and starting the trainers
        "queue_to_first_start_s": round(first_start, 2),
        "executor": sorted({str(r.status.get("executor")) for r in records}),
    }


def sweep_model(run_s: float, slots: int) -> list[dict[str, Any]]:
    """Wall time of a 200-run sweep on N nodes of `slots` concurrent runs each, `run_s` a run."""
    return [
        {
            "nodes": n,
            "waves": math.ceil(SWEEP / (n * slots)),
            "hours": round(math.ceil(SWEEP / (n * slots)) * run_s / 3600, 2),
        }
        for n in NODES
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from tests.models.synth import make_dataset_version
    from tests.ray_head import local_head

    result: dict[str, Any] = {
        "benchmark": "scale",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_start": os.getloadavg(),
        },
        "runs": args.runs,
        "epochs": args.epochs,
        "model": "lenet 32 px, 200 train images",
    }
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        os.environ["MASK_STUDIO_WORKER_IDLE_S"] = "2"
        os.environ.pop("MASK_STUDIO_RAY_ADDRESS", None)
        local_root = seed_env(Path(tmp) / "local", None)
        version = make_dataset_version(local_root, per_split=(100, 20, 20))
        result["local"] = run_batch(local_root, version, args.runs, args.epochs)
        ray_root = (Path(tmp) / "ray-ws").resolve()
        ray_root.mkdir()
        os.environ["MASK_STUDIO_WORKSPACE"] = str(ray_root)
        make_dataset_version(ray_root, per_split=(100, 20, 20))
        with local_head(num_cpus=args.cpus) as (address, env):
            os.environ.update(env)
            os.environ["MASK_STUDIO_RAY_ADDRESS"] = address
            result["ray"] = run_batch(ray_root, version, args.runs, args.epochs)
            result["ray"]["head_cpus"] = args.cpus
    local, ray = result["local"], result["ray"]
    result["ray_extra_overhead_per_run_s"] = round(
        ray["overhead_per_run_mean_s"] - local["overhead_per_run_mean_s"], 2
    )
    result["target_ray_overhead_per_run_s"] = 3.0
    result["meets_target"] = ray["overhead_per_run_mean_s"] <= 3.0
    result["sweep_200_model"] = {
        "assumes": f"{args.cpus} concurrent runs per node, each {ray['run_wall_mean_s']} s (measured mean on Ray)",
        "local_worker_hours": round(SWEEP * local["run_wall_mean_s"] / 3600, 2),
        "ray": sweep_model(ray["run_wall_mean_s"], args.cpus),
    }
    return emit(result, started)


if __name__ == "__main__":
    raise SystemExit(main())
