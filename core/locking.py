"""A per-folder inter-process lock for read-modify-write of user data (projects, dataset side files).

`folder_lock(folder)` holds an exclusive `fcntl.flock` on `<folder>/.lock`. Two processes, two
threads, or two browser tabs editing one project take turns, and each re-reads the file under
the lock, so no saved change is lost. The lock is re-entrant within one thread (a locked edit may
call another locked helper on the same folder). Where `fcntl` is missing (Windows) only the
in-process part applies.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"

_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.RLock] = {}
_held = threading.local()


def _rlock(key: str) -> threading.RLock:
    with _registry_guard:
        return _thread_locks.setdefault(key, threading.RLock())


@contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive lock of `folder` (created if missing) for the body of the `with`."""
    root = Path(folder).resolve()
    key = str(root)
    held: dict[str, int] = getattr(_held, "counts", None) or {}
    _held.counts = held
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    rlock = _rlock(key)
    with rlock:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            held[key] = 1
            try:
                yield
            finally:
                held.pop(key, None)
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
