"""The background training worker: one process that trains queued runs, oldest first.

Started by `ensure_worker()` as `python -m core.training.worker` in its own session, so it outlives
the Streamlit script reruns and the browser tab. A lock file keeps it single; on start it
marks runs left 'running' by a dead process as 'interrupted'. It exits after IDLE_EXIT_S
seconds with an empty queue (the next enqueue starts a new one). A worker that was killed is
replaced by `resume_queue()`, which the Experiments page's Queue section and the command line
call: queued runs never wait for something new to be queued.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_json
from core.runs.config import RunConfig
from core.runs.recipes import plan_run
from core.runs.store import (
    claim_run,
    create_run,
    now_iso,
    pid_alive,
    process_identity,
    queued_runs,
    read_json,
    recover_interrupted,
    run_path,
    write_status,
)
from core.training.executors import ray_address
from core.workspace import ENV_VAR, runs_dir, workspace_root

IDLE_EXIT_S = float(os.environ.get("MASK_STUDIO_WORKER_IDLE_S", "60"))
POLL_S = 1.0
REPO = Path(__file__).resolve().parents[2]
_LOCK = ".worker.lock"
_INFO = ".worker.json"
_children: list[subprocess.Popen[bytes]] = []


def _lock_file(root: Path | None) -> Path:
    base = runs_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    return base / _LOCK


def worker_pid(root: Path | None = None) -> int | None:
    """The pid of the live worker of this workspace, or None when none holds the lock."""
    for child in list(_children):  # reap our exited workers (no zombies in the page process)
        if child.poll() is not None:
            _children.remove(child)
    fd = os.open(_lock_file(root), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        info = read_json(runs_dir(root) / _INFO) or {}
        pid = info.get("pid")
        return pid if isinstance(pid, int) and pid_alive(pid, info.get("pid_start")) else -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def ensure_worker(root: Path | None = None) -> int:
    """Start a worker unless one is alive; returns its pid. Stale 'running' runs are recovered.

    The lock is taken here and handed to the child (an inherited descriptor), so two quick
    calls can never start two workers.
    """
    fd = os.open(_lock_file(root), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        pid = worker_pid(root)
        return pid if pid is not None else ensure_worker(root)
    try:
        recover_interrupted(root)
        ws = root or workspace_root()
        env = {**os.environ, ENV_VAR: str(ws)}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        with open(runs_dir(ws) / "worker.log", "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "core.training.worker", "--lock-fd", str(fd)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(fd,),
            )
        atomic_write_json(runs_dir(root) / _INFO, {**process_identity(child.pid), "started_at": now_iso()})
    finally:
        os.close(fd)  # the child keeps the lock through its copy of the descriptor
    _children.append(child)
    return child.pid


def resume_queue(root: Path | None = None) -> int | None:
    """Make sure the queue is being worked on: when no worker is alive (none started yet, or the
    last one was killed), runs it left 'running' become 'interrupted' and, if runs are queued, a
    new worker starts. Returns the worker's pid, or None when none is needed. Cheap enough to
    call on every page visit."""
    pid = worker_pid(root)
    if pid is not None:
        return pid
    recover_interrupted(root)
    return ensure_worker(root) if queued_runs(root) else None


def enqueue(config: RunConfig | dict[str, Any], root: Path | None = None, *, start: bool = True) -> str:
    """Validate `config`, queue it as a new run and make sure a worker will train it."""
    cfg = config if isinstance(config, RunConfig) else RunConfig.from_dict(config)
    run_id = create_run(plan_run(cfg, root).config.to_dict(), root)
    if start:
        ensure_worker(root)
    return run_id


def serve(root: Path | None = None, idle_exit_s: float = IDLE_EXIT_S, lock_fd: int | None = None) -> int:
    """The worker loop (this process). Returns the number of runs it trained; 0 at once when
    another worker holds the lock. `lock_fd`: an inherited descriptor that already holds it."""
    fd = os.open(_lock_file(root), os.O_RDWR | os.O_CREAT, 0o644) if lock_fd is None else lock_fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a no-op on the inherited, locked descriptor
    except BlockingIOError:
        os.close(fd)
        return 0
    os.set_inheritable(fd, False)  # a process this worker starts must not keep the lock after it dies
    atomic_write_json(runs_dir(root) / _INFO, {**process_identity(), "started_at": now_iso()})
    recover_interrupted(root)
    trained, idle_since = 0, time.monotonic()
    try:
        address = ray_address(root)
        if address:  # a Ray cluster trains the queue (core.training.ray_executor)
            from core.training.ray_executor import serve_ray

            return serve_ray(address, root, idle_exit_s)
        while True:
            queue = queued_runs(root)
            if not queue:
                if time.monotonic() - idle_since >= idle_exit_s:
                    return trained
                time.sleep(POLL_S)
                continue
            if claim_run(queue[0], root):
                write_status(run_path(queue[0], root), executor="local", node=socket.gethostname())
                from core.training.train import execute_run  # TensorFlow is imported only when there is work

                print(f"{now_iso()} run {queue[0]} -> {execute_run(queue[0], root)}", flush=True)
                trained += 1
            idle_since = time.monotonic()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.training.worker", description="Train queued runs.")
    parser.add_argument("--idle-exit", type=float, default=IDLE_EXIT_S, help="seconds idle before exiting")
    parser.add_argument("--lock-fd", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    serve(idle_exit_s=args.idle_exit, lock_fd=args.lock_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
