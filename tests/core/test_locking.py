"""core.locking.folder_lock: one holder at a time across threads and processes, re-entrant in a
thread, released when the body raises."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from core.locking import LOCK_FILE, folder_lock


def held_elsewhere(folder: Path) -> bool:
    """True when another open file holds the folder's lock (an own descriptor cannot take it)."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_the_folder_and_lock_file_are_created(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "project"
    with folder_lock(folder):
        assert (folder / LOCK_FILE).is_file()
        assert held_elsewhere(folder)
    assert not held_elsewhere(folder)


def test_threads_take_turns(tmp_path: Path) -> None:
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with folder_lock(tmp_path):
            inside.set()
            time.sleep(0.3)
            order.append("first done")

    def second() -> None:
        inside.wait(5)
        with folder_lock(tmp_path):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first done", "second in"]


def test_threads_keep_every_read_modify_write(tmp_path: Path) -> None:
    counter = tmp_path / "n.txt"
    counter.write_text("0")

    def bump() -> None:
        for _ in range(50):
            with folder_lock(tmp_path):
                n = int(counter.read_text())
                time.sleep(0)  # let another thread run between read and write
                counter.write_text(str(n + 1))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert counter.read_text() == "200"


def test_different_folders_do_not_block_each_other(tmp_path: Path) -> None:
    got: list[bool] = []
    with folder_lock(tmp_path / "a"):
        t = threading.Thread(target=lambda: got.append(_take(tmp_path / "b")))
        t.start()
        t.join(5)
    assert got == [True]


def _take(folder: Path) -> bool:
    with folder_lock(folder):
        return True


def _hold(folder: str, ready: multiprocessing.synchronize.Event, log: str) -> None:
    with folder_lock(folder):
        ready.set()
        time.sleep(0.4)
        with open(log, "a") as fh:
            fh.write("child released\n")


def test_a_second_process_waits_for_the_holder(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    log = tmp_path / "log.txt"
    child = ctx.Process(target=_hold, args=(str(tmp_path), ready, str(log)))
    child.start()
    try:
        assert ready.wait(10)
        assert held_elsewhere(tmp_path)
        with folder_lock(tmp_path):
            with open(log, "a") as fh:
                fh.write("parent in\n")
    finally:
        child.join(10)
    assert child.exitcode == 0
    assert log.read_text().splitlines() == ["child released", "parent in"]


def test_reentrant_in_one_thread_and_held_until_the_outer_exit(tmp_path: Path) -> None:
    with folder_lock(tmp_path):
        with folder_lock(tmp_path / "."):  # the same folder, spelled differently
            assert held_elsewhere(tmp_path)
        assert held_elsewhere(tmp_path)  # the inner exit does not release it
    assert not held_elsewhere(tmp_path)


def test_an_error_in_the_body_releases_the_lock(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with folder_lock(tmp_path):
            raise RuntimeError("boom")
    assert not held_elsewhere(tmp_path)
    got: list[bool] = []
    t = threading.Thread(target=lambda: got.append(_take(tmp_path)))
    t.start()
    t.join(5)
    assert got == [True], "another thread can take the lock after the error"


def test_an_error_in_a_nested_body_releases_everything(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        with folder_lock(tmp_path):
            with folder_lock(tmp_path):
                raise ValueError("inner")
    assert not held_elsewhere(tmp_path)
    with folder_lock(tmp_path):  # the thread's re-entry count was reset: this locks for real
        assert held_elsewhere(tmp_path)


def test_without_create_a_missing_folder_is_not_made(tmp_path: Path) -> None:
    from core.locking import FolderGone

    gone = tmp_path / "gone"
    with pytest.raises(FolderGone):
        with folder_lock(gone, create=False):
            pass
    assert not gone.exists()


def test_without_create_a_folder_moved_while_waiting_is_reported(tmp_path: Path) -> None:
    from core.locking import FolderGone

    folder = tmp_path / "p"
    folder.mkdir()
    outcome: list[BaseException | None] = []

    def wait_then_write() -> None:
        try:
            with folder_lock(folder, create=False):
                outcome.append(None)
        except FolderGone as exc:
            outcome.append(exc)

    with folder_lock(folder, create=False):
        waiter = threading.Thread(target=wait_then_write)
        waiter.start()
        waiter.join(0.2)
        os.replace(folder, tmp_path / "moved")
    waiter.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], FolderGone)
    assert not folder.exists()
