"""The run store: ids, status, effective states, cancel, delete, history (no TensorFlow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import TrainingError
from core.runs.store import (
    cancel_run,
    claim_run,
    create_run,
    delete_run,
    list_runs,
    load_run,
    pid_alive,
    process_identity,
    queued_runs,
    read_history,
    recover_interrupted,
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


def test_pid_alive_checks_identity() -> None:
    me = process_identity()
    assert pid_alive(me["pid"], me["pid_start"])
    assert not pid_alive(me["pid"], "1") or me["pid_start"] is None  # same pid, other start time
    assert not pid_alive(dead_pid()) and not pid_alive(None) and not pid_alive(-3)


def test_delete_refuses_active_runs(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    with pytest.raises(TrainingError, match="cancel"):
        delete_run(run_id)
    cancel_run(run_id)
    delete_run(run_id)
    assert list_runs() == []
    with pytest.raises(TrainingError):
        load_run(run_id)


def test_history_round_trip(tmp_path: Path) -> None:
    rows = [
        {"epoch": 1, "phase": "head", "loss": 0.5},
        {"epoch": 2, "phase": "head", "loss": 0.25, "val_loss": 0.3},
    ]
    write_history(tmp_path, rows)
    back = read_history(tmp_path)
    assert back[1] == {"epoch": 2, "phase": "head", "loss": 0.25, "val_loss": 0.3}
    assert back[0]["loss"] == 0.5 and back[0]["val_loss"] == ""


def test_damaged_status_reads_failed(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    (run_path(run_id) / "status.json").write_text("{half")
    assert load_run(run_id).state == "failed"
