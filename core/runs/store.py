"""The run store: one folder per run under <workspace>/runs, read by the Experiments page.

    config.json    the resolved RunConfig            status.json   state, times, pid, error
    progress.json  phase/epoch/batch (throttled)     history.csv   one row per epoch
    metrics.json   test metrics (written once, last) best.keras / model.keras / labels.txt
    cancel         flag file: stop at the next batch

Every file is written atomically. States: queued, running, done, failed, cancelled, and
interrupted (its process died without finishing).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import TrainingError
from core.fsutil import atomic_write_json, atomic_write_text, ensure_inside, safe_name
from core.workspace import runs_dir

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINAL_STATES = frozenset({"done", "failed", "cancelled", "interrupted"})
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_path(run_id: str, root: Path | None = None) -> Path:
    """The folder of run `run_id` (validated: no separators, inside the runs folder)."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise TrainingError(f"invalid run id {run_id!r}")
    base = runs_dir(root)
    return ensure_inside(base, base / run_id)


def _proc_start(pid: int) -> str | None:
    """Start time of `pid` from /proc (None if not Linux); '' when the process is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return ""
    except OSError:
        return None
    return "" if fields[0] in ("Z", "X") else fields[19]


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """{pid, pid_start} for this (or another) process, stored in status.json."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "pid_start": _proc_start(pid)}


def pid_alive(pid: Any, pid_start: Any = None) -> bool:
    """True when process `pid` runs (and, where known, is the same process that started then)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    start = _proc_start(pid)
    if start == "":
        return False
    if start is None:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return not pid_start or pid_start == start


def read_status(run_dir: Path) -> dict[str, Any]:
    """status.json of a run folder, with the effective state: a 'running' run whose process is
    dead reads as 'interrupted' (recover_interrupted makes that permanent)."""
    status = read_json(run_dir / "status.json") or {"state": "failed", "error": "status.json missing"}
    if status.get("state") == "running" and not pid_alive(status.get("pid"), status.get("pid_start")):
        status = {**status, "state": "interrupted"}
    return status


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into status.json (atomic) and return the new status."""
    status = read_json(run_dir / "status.json") or {}
    status.update(fields)
    status["updated_at"] = now_iso()
    atomic_write_json(run_dir / "status.json", status)
    return status


def create_run(config: dict[str, Any], root: Path | None = None, *, state: str = "queued") -> str:
    """A new run folder with config.json and status `state`; returns the run id."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    model = safe_name(str(config.get("model", "run")))[:30]
    run_id = f"{stamp}-{model}-{secrets.token_hex(3)}"
    path = run_path(run_id, root)
    path.mkdir(parents=True, exist_ok=False)
    atomic_write_json(path / "config.json", config)
    write_status(path, state=state, created_at=now_iso(), error=None)
    return run_id


@dataclass
class RunRecord:
    """Everything the page shows about one run (files that are missing read as None/empty)."""

    run_id: str
    path: Path
    config: dict[str, Any]
    status: dict[str, Any]
    progress: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return str(self.status.get("state", "failed"))


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """history.csv as a list of rows with numbers parsed."""
    try:
        text = (run_dir / "history.csv").read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        parsed: dict[str, Any] = {}
        for key, value in row.items():
            try:
                parsed[key] = int(value) if key == "epoch" else float(value)
            except (TypeError, ValueError):
                parsed[key] = value
        rows.append(parsed)
    return rows


def rows_to_csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """CSV text of `rows`; the columns are the union of the keys, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_history(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite history.csv (atomic) with every row so far."""
    atomic_write_text(run_dir / "history.csv", rows_to_csv_text(rows))


def load_run(run_id: str, root: Path | None = None) -> RunRecord:
    """Read one run folder; TrainingError when it does not exist."""
    path = run_path(run_id, root)
    if not (path / "config.json").is_file():
        raise TrainingError(f"no run {run_id!r}")
    return RunRecord(
        run_id=run_id,
        path=path,
        config=read_json(path / "config.json") or {},
        status=read_status(path),
        progress=read_json(path / "progress.json"),
        metrics=read_json(path / "metrics.json"),
        history=read_history(path),
    )


def run_ids(root: Path | None = None) -> list[str]:
    """Ids of every run folder (a valid id holding a config.json), in no particular order;
    reads none of their files."""
    base = runs_dir(root)
    if not base.is_dir():
        return []
    return [p.name for p in base.iterdir() if _RUN_ID.match(p.name) and (p / "config.json").is_file()]


def list_runs(root: Path | None = None) -> list[RunRecord]:
    """Every run, newest first."""
    records = [load_run(i, root) for i in run_ids(root)]
    return sorted(records, key=lambda r: str(r.status.get("created_at", "")), reverse=True)


def queued_runs(root: Path | None = None) -> list[str]:
    """Ids of queued runs, oldest first."""
    runs = [r for r in list_runs(root) if r.state == "queued"]
    return [r.run_id for r in sorted(runs, key=lambda r: str(r.status.get("created_at", "")))]


def cancel_requested(run_dir: Path) -> bool:
    """True when the run's cancel flag exists."""
    return (run_dir / "cancel").exists()


def cancel_run(run_id: str, root: Path | None = None) -> str:
    """Ask a run to stop: a queued run is cancelled at once, a running one at its next batch.
    Returns the state after the request."""
    path = run_path(run_id, root)
    state = load_run(run_id, root).state
    if state in FINAL_STATES:
        return state
    atomic_write_text(path / "cancel", now_iso())
    if state == "queued":
        write_status(path, state="cancelled", finished_at=now_iso())
        return "cancelled"
    return state


def claim_run(run_id: str, root: Path | None = None) -> bool:
    """Mark a queued run as running in this process; False if it is no longer queued or cancelled."""
    path = run_path(run_id, root)
    if read_status(path).get("state") != "queued" or cancel_requested(path):
        return False
    write_status(path, state="running", started_at=now_iso(), **process_identity())
    return True


def recover_interrupted(root: Path | None = None) -> list[str]:
    """Persist 'interrupted' for runs left 'running' by a dead process and remove the temporary
    files its atomic writes left behind; returns their ids."""
    found = []
    for record in list_runs(root):
        raw = read_json(record.path / "status.json") or {}
        if raw.get("state") == "running" and record.state == "interrupted":
            for leftover in record.path.glob(".*"):
                if leftover.is_file() and leftover.suffix in (".tmp", ".keras"):
                    leftover.unlink(missing_ok=True)
            write_status(
                record.path,
                state="interrupted",
                finished_at=now_iso(),
                error=f"the process training this run (pid {raw.get('pid')}) ended without finishing it",
            )
            found.append(record.run_id)
    return found


def delete_run(run_id: str, root: Path | None = None) -> None:
    """Remove a run folder; a queued or running run must be cancelled first."""
    record = load_run(run_id, root)
    if record.state in ("queued", "running"):
        raise TrainingError(f"run {run_id} is {record.state}; cancel it before deleting")
    shutil.rmtree(record.path)


def wait_for(run_id: str, root: Path | None = None, timeout: float = 600.0, poll: float = 0.5) -> str:
    """Block until the run reaches a final state (or `timeout` seconds pass); returns the state."""
    deadline = time.monotonic() + timeout
    while True:
        state = load_run(run_id, root).state
        if state in FINAL_STATES or time.monotonic() > deadline:
            return state
        time.sleep(poll)
