"""Benchmark: the local run queue with many run folders (issue 20, "one machine"); prints one JSON object.

- Makes N small run folders (default 30,000, like the 28,733 failed folders a bad sweep once
  left) in a temporary workspace: config.json and status.json each, 2 in 1,000 queued.
- before: listing them as the store did before the index (every folder's config, status,
  progress, metrics and history read), which the Queue section did every 2 s.
- after: `list_runs()` on a cold index (built from the folders, once), on the warm index, the
  Queue section's two reads (`list_runs(states=active)` and the 5 latest ended), `queued_runs()`,
  and the same after a folder is removed by hand (the index re-syncs); and one create_run /
  status change / delete_run with that many runs indexed.
- refusal: `python -m core.training.cli sweep GRID --queue` for a 270,000-point grid on a
  dataset version that does not exist: its wall time, exit code and the run folders it wrote.

Usage: python -m benchmarks.queue [--runs 30000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, emit


def make_folders(runs: Path, n: int) -> list[str]:
    """N run folders written directly (as another tool, or an old version, would leave them)."""
    runs.mkdir(parents=True)
    ids = []
    for i in range(n):
        run_id = f"20261201-{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}-lenet-{i:06x}"
        folder = runs / run_id
        folder.mkdir()
        queued = i % 500 == 0
        config = {"model": "lenet", "dataset_version": "missing", "batch_size": 1 + i % 600, "neurons": 8}
        status = {
            "state": "queued" if queued else "failed",
            "created_at": f"2026-12-01T00:00:00.{i:06d}+00:00",
            "updated_at": f"2026-12-01T00:00:01.{i:06d}+00:00",
            "error": None if queued else "dataset_version='missing' cannot be read: no dataset version",
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2))
        (folder / "status.json").write_text(json.dumps(status, indent=2))
        ids.append(run_id)
    return ids


def old_list_runs(root: Path) -> int:
    """The listing before the index: every folder's files read, then sorted (its count)."""
    from core.runs.store import read_history, read_json, read_status

    base = root / "runs"
    records = []
    for p in base.iterdir():
        if not (p / "config.json").is_file():
            continue
        status = read_status(p)
        records.append((p.name, read_json(p / "config.json"), status))
        read_json(p / "progress.json"), read_json(p / "metrics.json"), read_history(p)
    records.sort(key=lambda r: str(r[2].get("created_at", "")), reverse=True)
    return len(records)


def timed(fn: Any, repeat: int = 1) -> tuple[float, Any]:
    """(best wall seconds over `repeat` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return round(best, 4), out


def refuse_huge_sweep(tmp: Path) -> dict[str, Any]:
    grid = tmp / "grid.json"
    axes = {"batch_size": list(range(1, 601)), "neurons": list(range(1, 451))}
    grid.write_text(json.dumps({"base": {"model": "lenet", "dataset_version": "nope"}, "grid": axes}))
    ws = tmp / "refuse-ws"
    env = {**os.environ, "MASK_STUDIO_WORKSPACE": str(ws)}
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "core.training.cli", "sweep", str(grid), "--queue"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    runs = ws / "runs"
    return {
        "grid_points": 270_000,
        "wall_s": round(time.perf_counter() - t, 2),
        "exit_code": proc.returncode,
        "stderr": proc.stderr.strip()[:300],
        "run_folders_written": sum(1 for _ in runs.iterdir()) if runs.is_dir() else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30_000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "queue",
        "runs": args.runs,
        "machine": {"cpus": os.cpu_count(), "load_avg_start": [round(v, 2) for v in os.getloadavg()]},
    }
    tmp = Path(tempfile.mkdtemp(prefix="mask-studio-queue-"))
    try:
        root = tmp / "workspace"
        os.environ["MASK_STUDIO_WORKSPACE"] = str(root)
        from core.runs import store

        t = time.perf_counter()
        ids = make_folders(root / "runs", args.runs)
        result["make_folders_s"] = round(time.perf_counter() - t, 1)
        before_s, n_before = timed(lambda: old_list_runs(root))
        cold_s, cold = timed(lambda: store.list_runs(root))
        warm_s, warm = timed(lambda: store.list_runs(root), repeat=3)
        active_s, active = timed(lambda: store.list_runs(root, states=store.ACTIVE_STATES), repeat=5)
        ended_s, _ = timed(
            lambda: store.list_runs(root, states=("failed", "interrupted", "cancelled"), limit=5), repeat=5
        )
        queued_s, queued = timed(lambda: store.queued_runs(root), repeat=5)
        shutil.rmtree(root / "runs" / ids[1])  # removed by hand, behind the index's back
        resync_s, after_removal = timed(lambda: store.list_runs(root, states=store.ACTIVE_STATES))
        all_after = store.run_ids(root)
        create_s, new_id = timed(lambda: store.create_run({"model": "lenet"}, root))
        claim_s, claimed = timed(lambda: store.claim_run(new_id, root))
        status_s, _ = timed(lambda: store.write_status(store.run_path(new_id, root), state="failed"))
        delete_s, _ = timed(lambda: store.delete_run(new_id, root))
        result.update(
            {
                "before_list_all_s": before_s,
                "after_list_all_cold_index_s": cold_s,
                "after_list_all_warm_s": warm_s,
                "queue_refresh_before_s": before_s,
                "queue_refresh_after_s": round(active_s + ended_s, 4),
                "list_active_s": active_s,
                "list_5_latest_ended_s": ended_s,
                "queued_runs_s": queued_s,
                "list_active_after_hand_removal_s": resync_s,
                "create_run_s": create_s,
                "claim_run_s": claim_s,
                "write_status_s": status_s,
                "delete_run_s": delete_s,
                "speedup_queue_refresh": round(before_s / max(active_s + ended_s, 1e-6), 1),
                "index_bytes": sum(p.stat().st_size for p in (root / "runs" / ".index").iterdir()),
                "checks": {
                    "listed_before": n_before,
                    "listed_cold": len(cold),
                    "listed_warm": len(warm),
                    "active": len(active),
                    "queued": len(queued),
                    "active_after_hand_removal": len(after_removal),
                    "ids_after_hand_removal": len(all_after),
                    "claimed": claimed,
                },
            }
        )
        result["huge_sweep_refusal"] = refuse_huge_sweep(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return emit(result, started)


if __name__ == "__main__":
    sys.exit(main())
