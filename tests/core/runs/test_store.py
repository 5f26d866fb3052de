"""The run store: ids, status, effective states, cancel, delete, history (no TensorFlow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.errors import TrainingError
from core.runs.store import (
    cancel_run,
    claim_run,
    create_run,
    delete_run,
    list_runs,
    load_run,
    process_identity,
    queued_runs,
    read_json,
    recover_interrupted,
    requeue_run,
    run_ids,
    run_path,
    write_history,
    write_status,
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_create_list_and_load(workspace: Path) -> None:
    first = create_run({"model": "lenet", "epochs": 1})
    second = create_run({"model": "small_vgg"})
    assert [r.run_id for r in list_runs()] == [second, first]  # newest first
    assert queued_runs() == [first, second]  # oldest first
    rec = load_run(first)
    assert rec.state == "queued" and rec.config == {"model": "lenet", "epochs": 1}
    assert rec.metrics is None and rec.history == [] and rec.path.parent == workspace / "runs"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 200])
def test_run_ids_cannot_escape(workspace: Path, bad: str) -> None:
    with pytest.raises(TrainingError):
        run_path(bad)


def test_run_ids_name_the_folders_list_runs_loads(workspace: Path) -> None:
    first, second = create_run({"model": "lenet"}), create_run({"model": "lenet"})
    (run_path(first).parent / "not a run").mkdir()  # an invalid id
    (run_path(first).parent / "20260101-000000-lenet-abcdef").mkdir()  # no config.json
    assert sorted(run_ids()) == sorted([first, second]) == sorted(r.run_id for r in list_runs())


def test_cancel_a_queued_run_at_once(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    assert cancel_run(run_id) == "cancelled"
    assert load_run(run_id).state == "cancelled" and queued_runs() == []
    assert not claim_run(run_id)


def test_cancel_a_running_run_sets_the_flag(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    assert claim_run(run_id)
    assert load_run(run_id).status["pid"] == process_identity()["pid"]
    assert cancel_run(run_id) == "running"
    assert (run_path(run_id) / "cancel").exists()


def test_running_run_of_a_dead_process_reads_interrupted(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    write_status(run_path(run_id), state="running", pid=dead_pid(), pid_start=None)
    assert load_run(run_id).state == "interrupted"
    assert recover_interrupted() == [run_id]
    status = load_run(run_id).status
    assert status["state"] == "interrupted" and "ended without finishing" in status["error"]
    assert recover_interrupted() == []


def test_delete_refuses_active_runs(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    with pytest.raises(TrainingError, match="cancel"):
        delete_run(run_id)
    cancel_run(run_id)
    delete_run(run_id)
    assert list_runs() == []
    with pytest.raises(TrainingError):
        load_run(run_id)


def test_damaged_status_reads_failed(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    (run_path(run_id) / "status.json").write_text("{half")
    assert load_run(run_id).state == "failed"


def _claim_all(workspace: str, ids: list[str], start: float, out: Any) -> None:
    """In a separate process: wait for the common start time, then try to claim every run."""
    import os
    import time

    os.environ["MASK_STUDIO_WORKSPACE"] = workspace
    from core.runs.store import claim_run as claim

    time.sleep(max(0.0, start - time.time()))
    out.put((os.getpid(), [run_id for run_id in ids if claim(run_id)]))


def test_processes_racing_to_claim_runs_each_get_different_ones(workspace: Path) -> None:
    import multiprocessing
    import time

    ids = [create_run({"model": "lenet"}) for _ in range(12)]
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, as a worker and a CLI would be
    out = ctx.Queue()
    start = time.time() + 4.0  # every process imported and waiting before the race
    procs = [
        ctx.Process(target=_claim_all, args=(str(workspace), ids if i % 2 else ids[::-1], start, out))
        for i in range(6)
    ]
    for proc in procs:
        proc.start()
    won = dict(out.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    claimed = [run_id for got in won.values() for run_id in got]
    assert sorted(claimed) == sorted(ids), "every run claimed exactly once"
    for pid, got in won.items():  # each status names the process that won it
        assert all(read_json(run_path(i) / "status.json")["pid"] == pid for i in got)


def test_a_run_created_claimed_is_never_queued(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"}, claim=True)
    assert queued_runs() == [] and not claim_run(run_id)
    status = load_run(run_id).status
    assert status["state"] == "running" and status["pid"] == process_identity()["pid"]


def test_an_interrupted_run_can_be_queued_again_from_the_start(workspace: Path) -> None:
    run_id = create_run({"model": "lenet", "epochs": 3})
    path = run_path(run_id)
    write_status(path, state="running", pid=dead_pid(), pid_start=None)
    write_history(path, [{"epoch": 1, "loss": 0.5}])
    (path / "best.keras").write_bytes(b"partial")
    (path / "cancel").write_text("x")
    assert recover_interrupted() == [run_id]
    assert requeue_run(run_id) == "queued"
    assert queued_runs() == [run_id] and claim_run(run_id)
    rec = load_run(run_id)
    assert rec.history == [] and not (path / "best.keras").exists() and rec.config["epochs"] == 3
    assert rec.status["attempt"] == 2 and "ended without finishing" in rec.status["previous_error"]
    with pytest.raises(TrainingError, match="only an interrupted, failed or cancelled"):
        requeue_run(run_id)  # running


def test_a_deleted_run_cannot_be_claimed_or_written(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    path = run_path(run_id)
    cancel_run(run_id)
    delete_run(run_id)
    assert not claim_run(run_id)
    with pytest.raises(TrainingError, match="gone"):
        write_status(path, state="done")
    assert not path.exists()
