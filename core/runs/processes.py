"""Which process a run belongs to: a pid with its start time, so a reused pid is not taken for
the process that claimed the run (stored in status.json and the worker's info file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


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
