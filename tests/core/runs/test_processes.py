"""Process identity: a pid with its start time; a dead, zombie or reused pid is not alive."""

from __future__ import annotations

import subprocess
import sys
import time

from core.runs.processes import pid_alive, process_identity


def test_a_live_process_matches_its_identity() -> None:
    me = process_identity()
    assert pid_alive(me["pid"], me["pid_start"]) and pid_alive(me["pid"])
    assert not pid_alive(me["pid"], "1") or me["pid_start"] is None  # same pid, other start time


def test_a_zombie_and_a_reaped_process_are_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(proc.pid)
    deadline = time.monotonic() + 30
    while pid_alive(proc.pid) and time.monotonic() < deadline:  # exits, stays a zombie until waited
        time.sleep(0.01)
    assert not pid_alive(proc.pid, identity["pid_start"])
    proc.wait()
    assert not pid_alive(proc.pid)


def test_bad_pids_are_not_alive() -> None:
    assert not pid_alive(None) and not pid_alive(-3) and not pid_alive("12") and not pid_alive(0)
