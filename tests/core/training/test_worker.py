"""The background worker process: queue order, single instance, kill -9 recovery and resume."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from core.locking import LOCK_FILE
from core.runs.store import load_run, read_json, run_path, wait_for
from core.training import worker
from tests.models.synth import make_dataset_version

pytestmark = pytest.mark.slow


def wait_until(predicate, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_a_killed_worker_is_replaced_and_the_queue_resumes_without_a_new_run(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, keras_home: Path
) -> None:
    monkeypatch.setenv("MASK_STUDIO_WORKER_IDLE_S", "2")
    version = make_dataset_version(workspace)
    cfg = {"model": "lenet", "dataset_version": version, "image_size": 32, "neurons": 8, "augment": False}
    short = worker.enqueue({**cfg, "epochs": 1}, start=False)
    long = worker.enqueue({**cfg, "epochs": 1000}, start=False)
    after = worker.enqueue({**cfg, "epochs": 1}, start=False)  # still queued when the worker dies
    assert worker.worker_pid() is None
    pid = worker.ensure_worker()
    try:
        assert worker.ensure_worker() == pid and worker.resume_queue() == pid  # one worker only
        assert wait_for(short, timeout=240) == "done"
        assert load_run(short).status["pid"] == pid

        def long_is_training() -> bool:
            rec = load_run(long)
            return rec.state == "running" and len(rec.history) >= 1

        wait_until(long_is_training)
        os.kill(pid, signal.SIGKILL)
        for child in list(worker._children):
            child.wait(timeout=30)
        rec = load_run(long)
        assert rec.state == "interrupted"
        assert not (rec.path / "metrics.json").exists()
        assert worker.worker_pid() is None
        assert load_run(after).state == "queued"

        # Nothing new is queued: a page visit (or `cli resume`) replaces the dead worker.
        pid2 = worker.resume_queue()
        assert pid2 is not None and pid2 != pid
        raw = read_json(run_path(long) / "status.json")
        assert raw["state"] == "interrupted" and str(pid) in raw["error"]
        assert not [p for p in rec.path.iterdir() if p.name.startswith(".") and p.name != LOCK_FILE]
        assert {"config.json", "status.json", "history.csv"} <= {p.name for p in rec.path.iterdir()}
        assert wait_for(after, timeout=240) == "done"
        done = load_run(after)
        assert done.status["pid"] == pid2 and len(done.history) == 1  # trained once, by the new worker
        assert load_run(long).state == "interrupted"  # not picked up again until queued again
        for child in list(worker._children):
            assert child.wait(timeout=120) == 0  # idle: exits by itself
        assert worker.worker_pid() is None and worker.resume_queue() is None  # nothing queued
    finally:
        for child in worker._children:
            if child.poll() is None:
                child.kill()
                child.wait()
