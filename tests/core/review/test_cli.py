"""core.review.cli: `python -m core.review rank SOURCE` prints one JSON object in review order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.annotation.annotations import NONE, Box
from core.annotation.projects import Project
from core.review import ranking
from core.review.cli import main
from core.review.queue import queue_path
from core.review.sources import Source
from tests.core.review.conftest import photo
from tests.core.runs.test_active_model import LABELS
from tests.tiny_models import confident_tiny_run


@pytest.fixture
def boxed(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project of the tiny model's classes, every photo boxed (no detector needed)."""
    monkeypatch.setattr(
        ranking, "base_features_of", lambda crops, *a, **k: np.eye(len(crops), dtype=np.float32)
    )
    p = Project.create("faces")
    for i in range(3):
        p.add_image(f"img{i}.png", photo(i))
    with p.edit() as ann:
        for c in LABELS:
            ann.add_category(c)
        for i in range(3):
            ann.add_box(f"img{i}.png", Box(10, 10, 90, 90, NONE, 0.6 + 0.1 * i))
            ann.add_box(f"img{i}.png", Box(110, 10, 190, 90, NONE))
    return p


@pytest.mark.slow  # loads a tiny Keras model
def test_rank_prints_one_json_object_in_review_order(
    boxed: Project, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = confident_tiny_run(workspace)
    assert main(["rank", "faces", "--limit", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    faces = out["faces"]
    assert list(out) == ["faces"] and len(faces) == 4
    assert set(faces[0]) == {"image", "xyxy", "priority", "guess", "confidence", "why"}
    assert all(f["guess"] in LABELS and 0 <= f["confidence"] <= 1 for f in faces)
    assert Path(faces[0]["image"]).parent == boxed.images_dir and len(faces[0]["xyxy"]) == 4
    randoms = [f for f in faces if f["why"] == ["random"]]
    ranked = [f["priority"] for f in faces if f not in randoms]
    assert ranked == sorted(ranked, reverse=True), "by priority, the random share apart"
    assert not queue_path(Source("project", "faces")).exists(), "rank writes no queue unless --save"
    assert main(["rank", "faces", "--model", run_id, "--share", "0", "--save"]) == 0
    assert len(json.loads(capsys.readouterr().out)["faces"]) == 6
    assert queue_path(Source("project", "faces")).is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rank", "nowhere"], "neither a project"),
        (["rank", "faces", "--model", "no-such-run"], "cannot rank"),
        (["rank", "faces", "--model", "starter"], "starter"),
        (["rank", "faces"], "no model"),
    ],
)
def test_bad_input_is_an_error_line_and_status_2(
    boxed: Project, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and message in captured.err
    assert not queue_path(Source("project", "faces")).exists()


def test_an_empty_folder_is_refused(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["rank", str(tmp_path / "empty"), "--model", "starter"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize(
    "argv", [["rank", "faces", "--limit", "0"], ["rank", "faces", "--share", "1"], ["rank"]]
)
def test_bad_options_exit_2(workspace: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
