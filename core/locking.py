"""A per-folder inter-process lock for read-modify-write of user data (projects, dataset side files).

`folder_lock(folder)` holds an exclusive `fcntl.flock` on `<folder>/.lock`. Two processes, two
threads, or two browser tabs editing one project take turns, and each re-reads the file under
the lock, so no saved change is lost. The lock is re-entrant within one thread (a locked edit may
call another locked helper on the same folder). Where `fcntl` is missing (Windows) only the
in-process part applies.

`folder_lock(folder, create=False)` is for a folder that must already exist (a project): it never
creates it, and raises `FolderGone` when the folder is missing, or was moved or deleted while
this lock waited (its `.lock` file is no longer the one at the path), so a writer never
recreates a folder that another process removed under the same lock.
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

from core.errors import WorkspaceError

LOCK_FILE = ".lock"


class FolderGone(WorkspaceError):
    """The folder of a `folder_lock(..., create=False)` is missing or was moved away."""


_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.RLock] = {}
_held = threading.local()


def _rlock(key: str) -> threading.RLock:
    with _registry_guard:
        return _thread_locks.setdefault(key, threading.RLock())


@contextmanager
def folder_lock(folder: str | os.PathLike[str], *, create: bool = True) -> Iterator[None]:
    """Hold the exclusive lock of `folder` for the body of the `with`.

    The folder is created if missing when `create` is true; otherwise a missing folder, or one
    moved or deleted while the lock waited, raises `FolderGone`.
    """
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
        if create:
            root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError as exc:  # only without `create`: the folder is gone
            raise FolderGone(f"{root} no longer exists") from exc
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            if not create and not _still_there(root, fd):
                raise FolderGone(f"{root} was moved or deleted")
            held[key] = 1
            try:
                yield
            finally:
                held.pop(key, None)
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _still_there(root: Path, fd: int) -> bool:
    """Whether the lock file open as `fd` is still the one at `root/.lock`."""
    try:
        at_path = os.stat(root / LOCK_FILE)
    except OSError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)
