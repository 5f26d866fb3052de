"""The Ray executor against a real local head (loopback, temporary folder, 2 CPUs, token auth):
a sweep trains through it, a run is cancelled, a killed Ray worker leaves its run interrupted
(and re-queueable), the results open in Compare like local runs, no run trains twice."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.runs.config import expand_grid
from core.runs.experiments import comparison_rows
from core.runs.store import cancel_run, load_run, queued_runs, requeue_run, wait_for
from core.training import executors, ray_executor, worker
from tests.models.synth import make_dataset_version
from tests.ray_head import local_head

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_head() -> Iterator[tuple[str, dict[str, str]]]:
    """One head for the module's tests."""
    with local_head(num_cpus=2) as head:
        yield head


def wait_until(predicate, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.25)


def test_an_unreachable_cluster_leaves_the_queue_queued(workspace: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    address = f"127.0.0.1:{port}"
    version = make_dataset_version(workspace, per_split=(2, 1, 1))
    run_id = worker.enqueue({"model": "lenet", "dataset_version": version, "image_size": 32}, start=False)
    assert ray_executor.connect(address, workspace) is None
    state = executors.cluster_state(workspace)
    assert state is not None and state["reachable"] is False and address in state["error"]
    assert queued_runs(workspace) == [run_id]


def test_a_sweep_cancel_and_a_killed_worker_through_a_real_ray_head(
    ray_head: tuple[str, dict[str, str]], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, env = ray_head
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(executors.ENV_ADDRESS, address)
    monkeypatch.setenv("MASK_STUDIO_WORKER_IDLE_S", "3")
    version = make_dataset_version(workspace)
    base = {"model": "lenet", "dataset_version": version, "image_size": 32, "neurons": 8, "augment": False}
    # Two long runs go first (2 CPUs: both start); one is cancelled, one loses its Ray worker.
    doomed = worker.enqueue({**base, "epochs": 1000, "name": "killed"}, start=False)
    stopped = worker.enqueue({**base, "epochs": 1000, "name": "cancelled"}, start=False)
    sweep = [
        worker.enqueue(cfg, start=False)
        for cfg in expand_grid({"base": {**base, "epochs": 1}, "grid": {"seed": [1, 2, 3, 4]}})
    ]
    pid = worker.ensure_worker()
    try:

        def training(run_id: str) -> bool:
            rec = load_run(run_id)
            return rec.state == "running" and bool(rec.history) and "node_pid" in rec.status

        wait_until(lambda: training(doomed) and training(stopped))
        status = load_run(doomed).status
        assert status["executor"] == "ray" and status["node"] and status["pid"] == pid
        assert status["node_pid"] != pid  # trained in a Ray worker, not in the dispatcher
        os.kill(int(status["node_pid"]), signal.SIGKILL)
        assert cancel_run(stopped) == "running"  # stops at its next batch, on the cluster
        assert wait_for(stopped, timeout=120) == "cancelled"
        assert wait_for(doomed, timeout=120) == "interrupted"
        assert "Ray worker" in load_run(doomed).status["error"]
        for run_id in sweep:
            assert wait_for(run_id, timeout=300) == "done", load_run(run_id).status
    finally:
        os.kill(pid, signal.SIGTERM)
        for child in list(worker._children):
            child.wait(timeout=30)

    killed = load_run(doomed)
    assert killed.metrics is None and not (killed.path / "model.keras").exists()
    records = [load_run(r) for r in sweep]
    for rec in records:  # each trained once, on the cluster, and streamed back in full
        assert rec.status["executor"] == "ray" and rec.status["ray_node_id"]
        assert len(rec.history) == 1 and rec.metrics is not None and rec.metrics["epochs_run"] == 1
        assert (rec.path / "model.keras").stat().st_size > 0 and (rec.path / "labels.txt").is_file()
    rows = comparison_rows(records)
    assert sorted(r["seed"] for r in rows) == [1, 2, 3, 4]
    assert all(r["state"] == "done" and r["test_accuracy"] is not None for r in rows)
    # The interrupted run can be queued again (core.runs.store.requeue_run: it trains from the start).
    assert requeue_run(doomed) == "queued" and load_run(doomed).state == "queued"


def test_without_ray_installed_the_queue_waits_and_says_why(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    with socket.socket() as listener:  # something answers, but ray cannot be imported
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setitem(sys.modules, "ray", None)
        assert ray_executor.connect(address, workspace) is None
    state = executors.cluster_state(workspace)
    assert state is not None and state["reachable"] is False and "requirements-ray.txt" in state["error"]
