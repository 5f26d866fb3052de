"""The training command line: a sweep trains every grid point here, a bad config is refused
(deep, huge or for a missing version: exit 2 and nothing written), --queue leaves the runs queued
for the worker, resume and requeue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.runs.store import cancel_run, create_run, load_run, queued_runs, run_path, write_status
from core.training import cli
from tests.core.training.test_train import lenet
from tests.models.synth import make_dataset_version

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ws")


@pytest.fixture(scope="module")
def version(root: Path) -> str:
    return make_dataset_version(root)


def test_cli_run_and_sweep(
    root: Path,
    version: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(root))
    grid = tmp_path / "grid.json"
    grid.write_text(
        json.dumps({"base": lenet(version, epochs=1, augment=False), "grid": {"neurons": [4, 8]}})
    )
    assert cli.main(["sweep", str(grid)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["state"] for line in lines] == ["done", "done"]
    assert [load_run(line["run_id"], root).config["neurons"] for line in lines] == [4, 8]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "lenet", "dataset_version": version, "loss": "hinge"}))
    assert cli.main(["run", str(bad)]) == 2
    assert "loss" in capsys.readouterr().err


def test_queue_only_queues(root: Path, version: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(root))
    started: list[object] = []
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: started.append(root) or 1)
    config = tmp_path / "run.json"
    config.write_text(json.dumps(lenet(version, epochs=1)))
    assert cli.main(["run", str(config), "--queue"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["state"] == "queued" and load_run(line["run_id"], root).state == "queued"
    assert started == [None]


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("run", "[" * 100_000 + "]" * 100_000),
        ("sweep", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ],
)
def test_a_config_nested_100k_deep_is_an_error_not_a_crash(tmp_path: Path, command: str, text: str) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(text)
    ws = tmp_path / "ws"
    env = {**os.environ, "MASK_STUDIO_WORKSPACE": str(ws)}
    proc = subprocess.run(
        [sys.executable, "-m", "core.training.cli", command, str(deep), "--queue"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {deep}: ") and "nested 100000 levels deep" in proc.stderr
    assert "Traceback" not in proc.stderr and not (ws / "runs").exists()


def test_a_huge_sweep_for_a_missing_version_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(ws))
    grid = tmp_path / "grid.json"
    axes = {"batch_size": list(range(1, 601)), "neurons": list(range(1, 451))}  # 270,000 points
    grid.write_text(json.dumps({"base": {"model": "lenet", "dataset_version": "nope"}, "grid": axes}))
    assert cli.main(["sweep", str(grid), "--queue"]) == 2
    assert "270,000 runs; at most 500" in capsys.readouterr().err
    grid.write_text(
        json.dumps({"base": {"model": "lenet", "dataset_version": "nope"}, "grid": {"neurons": [4, 8]}})
    )
    for args in (["sweep", str(grid), "--queue"], ["sweep", str(grid)]):
        assert cli.main(args) == 2
        assert "dataset_version='nope' does not exist" in capsys.readouterr().err
    assert not (ws / "runs").exists()


def test_resume_and_requeue(root: Path, version: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MASK_STUDIO_WORKSPACE", str(root))
    started: list[object] = []
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: started.append(root) or 7)
    monkeypatch.setattr("core.training.worker.worker_pid", lambda root=None: None)
    for run_id in queued_runs(root):
        cancel_run(run_id, root)
    assert cli.main(["resume"]) == 0
    assert json.loads(capsys.readouterr().out) == {"worker_pid": None, "queued": 0} and not started
    run_id = create_run(lenet(version, epochs=1), root)
    write_status(run_path(run_id, root), state="running", pid=2**22 + 777, pid_start="1")  # a dead worker's
    assert cli.main(["resume"]) == 0  # nothing queued: marks it interrupted, starts nothing
    assert load_run(run_id, root).state == "interrupted" and not started
    assert cli.main(["requeue", run_id, "20260101-000000-lenet-000000"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[-1]) == {"run_id": run_id, "state": "queued"}
    assert "no run" in err and started == [None]
    assert queued_runs(root) == [run_id]
