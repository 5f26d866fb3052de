"""The training command line:

    python -m core.training.cli run CONFIG.json [--queue]
    python -m core.training.cli sweep GRID.json [--queue]
    python -m core.training.cli resume
    python -m core.training.cli requeue RUN_ID [RUN_ID ...]

Without --queue the runs train here, one after another (core.training.train); with it they are
queued for the background worker (core.training.worker). Either way they write the same run
folders (core.runs.store). Prints one JSON line per run. A config or grid file is checked whole
before any run folder is written: its size and nesting, every value, the sweep's size (at most
SWEEP_LIMIT runs) and that its dataset versions exist; a bad one exits with code 2 and
`error: ...` on stderr. `resume` restarts the worker of a queue whose worker was killed;
`requeue` queues interrupted, failed or cancelled runs again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import MaskStudioError
from core.runs.config import RunConfig, expand_grid, read_config_file, require_dataset_versions
from core.runs.store import load_run, queued_runs, requeue_run
from core.training.train import run_here
from core.training.worker import enqueue, resume_queue


def _summary(run_id: str, root: Path | None) -> dict[str, Any]:
    rec = load_run(run_id, root)
    m = rec.metrics or {}
    out: dict[str, Any] = {"run_id": run_id, "state": rec.state, "path": str(rec.path)}
    out.update({k: m.get(k) for k in ("accuracy", "macro_f1", "best_val_accuracy", "train_seconds")})
    if rec.state != "done":
        out["error"] = rec.status.get("error")
    return out


def load_configs(command: str, file: Path) -> list[RunConfig]:
    """The validated run configs of a config (`run`) or grid (`sweep`) file; ConfigError (a
    ValueError) for anything wrong, before any run exists."""
    data = read_config_file(file)
    configs = expand_grid(data) if command == "sweep" else [RunConfig.from_dict(data)]
    for cfg in configs:
        cfg.resolved()
    require_dataset_versions(configs)
    return configs


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON line per run."""
    parser = argparse.ArgumentParser(prog="python -m core.training.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "sweep", "resume", "requeue"))
    parser.add_argument(
        "file", nargs="*", help="CONFIG.json (run), GRID.json (sweep) or RUN_ID ... (requeue)"
    )
    parser.add_argument("--queue", action="store_true", help="queue for the background worker instead")
    args = parser.parse_args(argv)
    if args.command == "resume":
        pid = resume_queue()
        print(json.dumps({"worker_pid": pid, "queued": len(queued_runs())}), flush=True)
        return 0
    if args.command == "requeue":
        return _requeue(args.file)
    if len(args.file) != 1:
        parser.error(f"{args.command} takes one file")
    file = Path(args.file[0])
    try:
        configs = load_configs(args.command, file)
    except (OSError, ValueError, MaskStudioError) as exc:
        print(f"error: {file}: {exc}", file=sys.stderr)
        return 2
    failed = 0
    if args.queue:
        for cfg in configs:
            print(json.dumps({"run_id": enqueue(cfg), "state": "queued"}), flush=True)
        return 0
    for cfg in configs:
        summary = _summary(run_here(cfg, echo=True), None)
        failed += summary["state"] != "done"
        print(json.dumps(summary), flush=True)
    return 1 if failed else 0


def _requeue(run_ids: list[str]) -> int:
    if not run_ids:
        print("error: requeue needs at least one run id", file=sys.stderr)
        return 2
    bad = 0
    for run_id in run_ids:
        try:
            print(json.dumps({"run_id": run_id, "state": requeue_run(run_id)}), flush=True)
        except MaskStudioError as exc:
            print(f"error: {run_id}: {exc}", file=sys.stderr)
            bad += 1
    resume_queue()
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
