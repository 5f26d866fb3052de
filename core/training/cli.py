"""The training command line:

    python -m core.training.cli run CONFIG.json [--queue]
    python -m core.training.cli sweep GRID.json [--queue]

Without --queue the runs train here, one after another (core.training.train); with it they are
queued for the background worker (core.training.worker). Either way they write the same run
folders (core.runs.store). Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.runs.config import RunConfig, expand_grid
from core.runs.store import load_run
from core.training.train import run_here
from core.training.worker import enqueue


def _summary(run_id: str, root: Path | None) -> dict[str, Any]:
    rec = load_run(run_id, root)
    m = rec.metrics or {}
    out: dict[str, Any] = {"run_id": run_id, "state": rec.state, "path": str(rec.path)}
    out.update({k: m.get(k) for k in ("accuracy", "macro_f1", "best_val_accuracy", "train_seconds")})
    if rec.state != "done":
        out["error"] = rec.status.get("error")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON line per run."""
    parser = argparse.ArgumentParser(prog="python -m core.training.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "sweep"))
    parser.add_argument("file", type=Path, help="CONFIG.json (run) or GRID.json (sweep)")
    parser.add_argument("--queue", action="store_true", help="queue for the background worker instead")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
        configs = expand_grid(data) if args.command == "sweep" else [RunConfig.from_dict(data)]
        for cfg in configs:
            cfg.resolved()
    except (OSError, ValueError) as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
