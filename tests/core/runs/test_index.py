"""The run index: kept in step by the store (create, status change, requeue, delete), re-synced
with folders added or removed behind its back, rebuilt when missing or damaged, and read instead
of the folders' JSON files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from core.runs import index, store
from core.runs.store import (
    cancel_run,
    claim_run,
    create_run,
    delete_run,
    list_runs,
    queued_runs,
    run_ids,
    run_path,
    write_status,
)


def states() -> dict[str, str]:
    return {r.run_id: r.state for r in list_runs()}


def indexed(workspace: Path) -> dict[str, str]:
    with index.open_index(workspace / "runs") as conn:
        return {run_id: status["state"] for run_id, _, status in index.rows(conn)}


def test_the_index_follows_create_status_change_and_delete(workspace: Path) -> None:
    a, b, c = (create_run({"model": "lenet", "n": i}) for i in range(3))
    assert indexed(workspace) == {a: "queued", b: "queued", c: "queued"}
    assert claim_run(a)
    write_status(run_path(a), state="done")
    cancel_run(b)
    assert indexed(workspace) == {a: "done", b: "cancelled", c: "queued"}
    delete_run(b)
    assert indexed(workspace) == {a: "done", c: "queued"} == states()
    assert queued_runs() == [c] and sorted(run_ids()) == sorted([a, c])
    assert [r.config["n"] for r in list_runs()] == [2, 0]  # newest first, configs from the index


def test_folders_added_or_removed_by_others_are_found(workspace: Path, tmp_path: Path) -> None:
    a, b = create_run({"model": "lenet"}), create_run({"model": "lenet"})
    write_status(run_path(a), state="done")
    list_runs()
    shutil.rmtree(run_path(b))  # removed by hand
    copy = "20260101-000000-lenet-c0ffee"
    shutil.copytree(run_path(a), workspace / "runs" / copy)  # copied in by hand
    (workspace / "runs" / "20260101-000000-lenet-half00").mkdir()  # no config.json: not a run
    assert states() == {a: "done", copy: "done"}
    assert indexed(workspace) == {a: "done", copy: "done"}


def test_an_active_runs_status_written_behind_the_index_is_reread(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    list_runs()
    raw = store.read_json(run_path(run_id) / "status.json")
    store.atomic_write_json(run_path(run_id) / "status.json", {**raw, "state": "done", "updated_at": "9999"})
    assert states() == {run_id: "done"} and queued_runs() == []


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_missing_or_damaged_index_is_rebuilt_from_the_folders(workspace: Path, damage: str) -> None:
    a, b = create_run({"model": "lenet"}), create_run({"model": "small_vgg"})
    write_status(run_path(a), state="failed", error="boom")
    folder = workspace / "runs" / index.INDEX_DIR
    for suffix in ("", "-wal", "-shm"):
        Path(f"{folder / index.INDEX_FILE}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        (folder / index.INDEX_FILE).write_bytes(b"not a database" * 100)
    assert states() == {a: "failed", b: "queued"}
    assert indexed(workspace) == {a: "failed", b: "queued"}
    assert next(r for r in list_runs() if r.run_id == a).status["error"] == "boom"


def test_listing_reads_the_index_not_every_folder(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [create_run({"model": "lenet"}) for _ in range(12)]
    for run_id in ids[:10]:
        write_status(run_path(run_id), state="done")
    list_runs()
    reads: list[Path] = []
    real = store.read_json
    monkeypatch.setattr(store, "read_json", lambda path: reads.append(path) or real(path))
    assert len(list_runs()) == 12
    assert {p.parent.name for p in reads} <= set(ids[10:])  # only the two queued runs' status.json
    reads.clear()
    assert [r.run_id for r in list_runs(states=("done",), limit=3)] == ids[9:6:-1]
    assert [r.run_id for r in list_runs(states=("queued", "running"))] == ids[:9:-1]
    assert all(p.name == "status.json" for p in reads)


def test_a_stale_write_never_replaces_a_newer_status(tmp_path: Path) -> None:
    with index.open_index(tmp_path) as conn:
        index.upsert(conn, "r", {}, {"state": "running", "updated_at": "2026-01-02"})
        index.upsert(conn, "r", {}, {"state": "queued", "updated_at": "2026-01-01"})
        index.set_status(conn, "r", {"state": "queued", "updated_at": "2026-01-01"})
        assert [s["state"] for _, _, s in index.rows(conn)] == ["running"]
        index.set_status(conn, "r", {"state": "done", "updated_at": "2026-01-03"})
        index.set_status(conn, "unknown", {"state": "done", "updated_at": "2026-01-03"})
        assert index.stamps(conn, ["done"]) == {"r": "2026-01-03"}
        index.remove(conn, ["r"])
        assert index.indexed_ids(conn) == set()


def test_a_running_run_of_a_dead_process_lists_as_interrupted(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    write_status(run_path(run_id), state="running", pid=2**22 + 12345, pid_start="1")
    assert [r.run_id for r in list_runs(states=("interrupted",))] == [run_id]
    assert list_runs(states=("running",)) == []


def test_a_settled_runs_folder_is_not_listed_again_until_it_changes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = create_run({"model": "lenet"})
    runs = workspace / "runs"
    old = time.time() - 3600
    os.utime(runs, (old, old))
    list_runs()  # compares the names and records the settled mtime
    calls: list[object] = []
    real = os.listdir
    monkeypatch.setattr(store.os, "listdir", lambda path: calls.append(path) or real(path))
    assert states() == {a: "queued"} and calls == []
    copy = "20260101-000000-lenet-c0ffee"
    shutil.copytree(run_path(a), runs / copy)  # a new name: the folder's mtime moves
    assert states() == {a: "queued", copy: "queued"} and calls


def test_a_process_killed_between_index_and_file_writes_leaves_nothing_stale(workspace: Path) -> None:
    run_id = create_run({"model": "lenet"})
    with index.open_index(workspace / "runs") as conn:  # a claim's index write, then SIGKILL
        index.set_status(conn, run_id, {"state": "running", "pid": 1, "updated_at": "9999"})
    assert queued_runs() == [run_id] and indexed(workspace) == {run_id: "queued"}
