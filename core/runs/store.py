"""The run store: one folder per run under <workspace>/runs, read by the Experiments page.

    config.json    the resolved RunConfig            status.json   state, times, pid, error
    progress.json  phase/epoch/batch (throttled)     history.csv   one row per epoch
    metrics.json   test metrics (written once, last) best.keras / model.keras / labels.txt
    cancel         flag file: stop at the next batch

Every file is written atomically, and every change of state holds the run folder's lock
(core.locking), so a run is claimed by one process only. States: queued, running, done, failed,
cancelled, and interrupted (its process died without finishing; `requeue_run` queues it again).
Listing reads the run index (core.runs.index), kept in step here and re-synced with the folders
on every listing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from core.errors import TrainingError
from core.fsutil import atomic_write_json, atomic_write_text, ensure_inside, safe_name
from core.locking import LOCK_FILE, FolderGone, folder_lock
from core.runs import index
from core.runs.history import read_history
from core.runs.history import rows_to_csv_text as rows_to_csv_text  # re-exported
from core.runs.history import write_history as write_history  # re-exported
from core.runs.processes import pid_alive, process_identity
from core.workspace import runs_dir

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINAL_STATES = frozenset({"done", "failed", "cancelled", "interrupted"})
ACTIVE_STATES = ("queued", "running")
#: States a run can be queued again from (requeue_run).
REQUEUE_STATES = frozenset({"failed", "cancelled", "interrupted"})
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def run_path(run_id: str, root: Path | None = None) -> Path:
    """The folder of run `run_id` (validated: no separators, inside the runs folder)."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise TrainingError(f"invalid run id {run_id!r}")
    base = runs_dir(root)
    return ensure_inside(base, base / run_id)


def read_status(run_dir: Path) -> dict[str, Any]:
    """status.json of a run folder, with the effective state: a 'running' run whose process is
    dead reads as 'interrupted' (recover_interrupted makes that permanent)."""
    return _effective(read_json(run_dir / "status.json") or dict(_MISSING_STATUS))


_MISSING_STATUS = {"state": "failed", "error": "status.json missing", "updated_at": ""}


def _effective(status: dict[str, Any]) -> dict[str, Any]:
    if status.get("state") == "running" and not pid_alive(status.get("pid"), status.get("pid_start")):
        return {**status, "state": "interrupted"}
    return status


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run folder's inter-process lock (re-entrant); TrainingError when the folder is gone."""
    try:
        with folder_lock(run_dir, create=False):
            yield
    except FolderGone:
        raise TrainingError(f"no run {run_dir.name!r}: its folder is gone") from None


def write_status(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into status.json (atomic, under the run's lock; the index follows) and
    return the new status."""
    with run_lock(run_dir):
        status = read_json(run_dir / "status.json") or {}
        status.update(fields)
        return _save_status(run_dir, status)


def _save_status(run_dir: Path, status: dict[str, Any]) -> dict[str, Any]:
    """Write a whole status (caller holds the run lock). A run leaving a final state is indexed
    before its file is written and one entering it after, so a process killed in between leaves
    the index showing it active, and the next listing re-reads its file."""
    status["updated_at"] = now_iso()
    final = status.get("state") in FINAL_STATES
    if not final:
        _index_write(run_dir.parent, lambda conn: index.set_status(conn, run_dir.name, status))
    atomic_write_json(run_dir / "status.json", status)
    if final:
        _index_write(run_dir.parent, lambda conn: index.set_status(conn, run_dir.name, status))
    return status


def create_run(
    config: dict[str, Any], root: Path | None = None, *, state: str = "queued", claim: bool = False
) -> str:
    """A new run folder with config.json and status `state`; returns the run id. `claim`: the
    run is created already running in this process (no worker can take it in between)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    model = safe_name(str(config.get("model", "run")))[:30]
    run_id = f"{stamp}-{model}-{secrets.token_hex(3)}"
    path = run_path(run_id, root)
    path.mkdir(parents=True, exist_ok=False)
    with run_lock(path):
        status: dict[str, Any] = {
            "state": "running" if claim else state,
            "created_at": now_iso(),
            "error": None,
        }
        if claim:
            status.update(started_at=status["created_at"], **process_identity())
        status["updated_at"] = now_iso()
        atomic_write_json(path / "status.json", status)  # before config.json: a listed run has both
        atomic_write_json(path / "config.json", config)
        _index_write(path.parent, lambda conn: index.upsert(conn, run_id, config, status))
    return run_id


class RunRecord:
    """Everything the page shows about one run. Its status is read when the record is made; its
    config (kept as text from the index), folder path, progress, metrics and history when first
    used (files that are missing read as None/empty)."""

    def __init__(
        self, run_id: str, path: Path | str, config: dict[str, Any] | str, status: dict[str, Any]
    ) -> None:
        self.run_id, self.status = run_id, status
        self._path, self._config = path, config

    def __repr__(self) -> str:
        return f"RunRecord({self.run_id!r}, state={self.state!r})"

    def without_metrics(self) -> RunRecord:
        """A copy of this record whose metrics read as None (files untouched)."""
        copy = RunRecord(self.run_id, self._path, self._config, self.status)
        copy.__dict__["metrics"] = None
        return copy

    @property
    def state(self) -> str:
        return str(self.status.get("state", "failed"))

    @cached_property
    def path(self) -> Path:
        return Path(self._path)

    @cached_property
    def config(self) -> dict[str, Any]:
        return json.loads(self._config) if isinstance(self._config, str) else self._config

    @cached_property
    def progress(self) -> dict[str, Any] | None:
        return read_json(self.path / "progress.json")

    @cached_property
    def metrics(self) -> dict[str, Any] | None:
        return read_json(self.path / "metrics.json")

    @cached_property
    def history(self) -> list[dict[str, Any]]:
        return read_history(self.path)


def load_run(run_id: str, root: Path | None = None) -> RunRecord:
    """Read one run folder (its files, not the index); TrainingError when it does not exist."""
    path = run_path(run_id, root)
    if not (path / "config.json").is_file():
        raise TrainingError(f"no run {run_id!r}")
    return RunRecord(
        run_id=run_id, path=path, config=read_json(path / "config.json") or {}, status=read_status(path)
    )


# ----- the index ---------------------------------------------------------------------------
def _index_write(base: Path, change: Any) -> None:
    """Apply `change(conn)` to the index of runs folder `base`; an index that cannot be written is
    removed (the folders stay the record; the next listing rebuilds it)."""
    try:
        with index.open_index(base) as conn:
            change(conn)
    except sqlite3.Error:
        _drop_index(base)


def _drop_index(base: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            (base / index.INDEX_DIR / f"{index.INDEX_FILE}{suffix}").unlink(missing_ok=True)
        except OSError:
            pass


#: A runs folder modified this recently is compared again on the next listing (an mtime is only
#: trusted once the clock has moved past it: file times are coarser than the changes).
_SETTLED_NS = 2_000_000_000


def _sync(base: Path, conn: sqlite3.Connection) -> None:
    """Bring the index in step with the folders: forget removed folders, add folders it does not
    know (made by another tool, or before the index existed), and re-read (under its lock) the
    status of every run it holds as queued or running: the file wins, so a process killed
    between its index and file writes leaves nothing stale. The folder names are compared only when the runs
    folder's mtime differs from the one last compared."""
    mtime = str(os.stat(base).st_mtime_ns)
    if index.get_meta(conn, "dir_mtime_ns") != mtime:
        known = index.indexed_ids(conn)  # read before listing: a run made in between is only added
        on_disk = {name for name in os.listdir(base) if _RUN_ID.match(name)}
        index.remove(conn, known - on_disk)
        pending = False
        for run_id in on_disk - known:
            path = base / run_id
            config = read_json(path / "config.json")
            if config is None:  # not a run, or one being made (its config.json is written last)
                pending = pending or path.is_dir()
                continue
            index.upsert(conn, run_id, config, read_json(path / "status.json") or dict(_MISSING_STATUS))
        settled = time.time_ns() - int(mtime) > _SETTLED_NS and not pending
        index.set_meta(conn, "dir_mtime_ns", mtime if settled else None)
    conn.commit()  # never hold the index's write lock while waiting for a run's lock
    for run_id, stamp in index.stamps(conn, ACTIVE_STATES).items():
        try:
            with folder_lock(base / run_id, create=False):  # no status change half-done meanwhile
                status = read_json(base / run_id / "status.json")
                if status is not None and str(status.get("updated_at", "")) != stamp:
                    index.set_status(conn, run_id, status, newer_only=False)  # the file is the record
                    conn.commit()
        except FolderGone:
            continue


def _scan(base: Path) -> list[RunRecord]:
    """Every run read from its folder (used only when the index cannot be opened)."""
    names = [p.name for p in base.iterdir() if _RUN_ID.match(p.name) and (p / "config.json").is_file()]
    return [load_run(i, base.parent) for i in names]


def _indexed(root: Path | None, query: Any) -> Any:
    """`query(conn)` on the synced index of workspace `root`; None when there is no runs folder
    or the index cannot be used."""
    base = runs_dir(root)
    if not base.is_dir():
        return None
    try:
        with index.open_index(base) as conn:
            _sync(base, conn)
            return query(conn)
    except sqlite3.Error:
        _drop_index(base)
        return None


def run_ids(root: Path | None = None) -> list[str]:
    """Ids of every run folder (a valid id holding a config.json), in no particular order."""
    found = _indexed(root, index.indexed_ids)
    if found is None:
        base = runs_dir(root)
        return [r.run_id for r in _scan(base)] if base.is_dir() else []
    return list(found)


def list_runs(
    root: Path | None = None, *, states: Iterable[str] | None = None, limit: int | None = None
) -> list[RunRecord]:
    """Every run (or those whose effective state is in `states`), newest first, at most `limit`.
    Reads the run index, not the folders."""
    wanted = None if states is None else set(states)
    base = runs_dir(root).resolve()

    def query(conn: sqlite3.Connection) -> list[tuple[str, str, dict[str, Any]]]:
        if wanted is None:
            return index.rows(conn, None, limit)
        exact = sorted(wanted - {"running"})
        got = index.rows(conn, exact, limit) if exact else []
        if wanted & {"running", "interrupted"}:  # a running run whose process died reads interrupted
            got += index.rows(conn, ["running"])
        return got

    rows = _indexed(root, query)
    if rows is None:
        records = _scan(base) if base.is_dir() else []
    else:
        records = [RunRecord(i, f"{base}/{i}", config, _effective(status)) for i, config, status in rows]
    if wanted is not None:
        records = [r for r in records if r.state in wanted]
    records.sort(key=lambda r: str(r.status.get("created_at", "")), reverse=True)
    return records if limit is None else records[:limit]


def queued_runs(root: Path | None = None) -> list[str]:
    """Ids of queued runs, oldest first."""
    runs = list_runs(root, states=("queued",))
    return [r.run_id for r in sorted(runs, key=lambda r: str(r.status.get("created_at", "")))]


def cancel_requested(run_dir: Path) -> bool:
    """True when the run's cancel flag exists."""
    return (run_dir / "cancel").exists()


def cancel_run(run_id: str, root: Path | None = None) -> str:
    """Ask a run to stop: a queued run is cancelled at once, a running one at its next batch.
    Returns the state after the request."""
    path = run_path(run_id, root)
    with run_lock(path):
        state = load_run(run_id, root).state
        if state in FINAL_STATES:
            return state
        atomic_write_text(path / "cancel", now_iso())
        if state == "queued":
            write_status(path, state="cancelled", finished_at=now_iso())
            return "cancelled"
        return state


def claim_run(run_id: str, root: Path | None = None) -> bool:
    """Mark a queued run as running in this process; False if it is no longer queued, cancelled
    or gone. The check and the write hold the run's lock: of several processes claiming one
    run, exactly one gets it."""
    path = run_path(run_id, root)
    try:
        with run_lock(path):
            if read_status(path).get("state") != "queued" or cancel_requested(path):
                return False
            write_status(path, state="running", started_at=now_iso(), **process_identity())
            return True
    except TrainingError:  # the folder was deleted
        return False


def recover_interrupted(root: Path | None = None) -> list[str]:
    """Persist 'interrupted' (with the reason) for runs left 'running' by a dead process and
    remove the temporary files its atomic writes left behind; returns their ids."""
    found = []
    for record in list_runs(root, states=("interrupted",)):
        try:
            with run_lock(record.path):
                raw = read_json(record.path / "status.json") or {}
                if raw.get("state") != "running" or pid_alive(raw.get("pid"), raw.get("pid_start")):
                    continue
                for leftover in record.path.glob(".*"):
                    if leftover.is_file() and leftover.suffix in (".tmp", ".keras"):
                        leftover.unlink(missing_ok=True)
                write_status(
                    record.path,
                    state="interrupted",
                    finished_at=now_iso(),
                    error=f"the process training this run (pid {raw.get('pid')}) ended without finishing it "
                    "(killed or crashed); queue it again to train it from the start",
                )
        except TrainingError:
            continue
        found.append(record.run_id)
    return found


def requeue_run(run_id: str, root: Path | None = None) -> str:
    """Queue an interrupted, failed or cancelled run again, in its own folder: everything but
    its config is cleared and it trains from the start. Returns 'queued'."""
    path = run_path(run_id, root)
    with run_lock(path):
        record = load_run(run_id, root)
        if record.state not in REQUEUE_STATES:
            raise TrainingError(
                f"run {run_id} is {record.state}; only an interrupted, failed or cancelled run can be queued again"
            )
        for item in path.iterdir():
            if item.name in ("config.json", "status.json", LOCK_FILE):
                continue
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink(missing_ok=True)
        old = record.status
        _save_status(
            path,
            {
                "state": "queued",
                "created_at": old.get("created_at") or now_iso(),
                "error": None,
                "requeued_at": now_iso(),
                "attempt": int(old.get("attempt") or 1) + 1,
                "previous_error": old.get("error"),
            },
        )
    return "queued"


def delete_run(run_id: str, root: Path | None = None) -> None:
    """Remove a run folder; a queued or running run must be cancelled first."""
    path = run_path(run_id, root)
    load_run(run_id, root)  # TrainingError when there is no such run
    with run_lock(path):
        record = load_run(run_id, root)
        if record.state in ACTIVE_STATES:
            raise TrainingError(f"run {run_id} is {record.state}; cancel it before deleting")
        shutil.rmtree(record.path)
        _index_write(path.parent, lambda conn: index.remove(conn, [run_id]))


def wait_for(run_id: str, root: Path | None = None, timeout: float = 600.0, poll: float = 0.5) -> str:
    """Block until the run reaches a final state (or `timeout` seconds pass); returns the state."""
    deadline = time.monotonic() + timeout
    while True:
        state = load_run(run_id, root).state
        if state in FINAL_STATES or time.monotonic() > deadline:
            return state
        time.sleep(poll)
