"""The training command line: a sweep trains every grid point here, a bad config is refused,
and --queue leaves the runs queued for the worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.runs.store import load_run
from core.training import cli
from tests.core.training.test_train import lenet
from tests.models.synth import make_dataset_version

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
