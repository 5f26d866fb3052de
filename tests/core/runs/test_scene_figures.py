"""Scene figures kept per model and per scene set; the starter's shipped ones; comparisons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import TrainingError
from core.runs.scene_figures import (
    KEEP,
    RUN_FILE,
    STARTER,
    STARTER_FILE,
    SceneFigure,
    compare_figures,
    figure_from_dict,
    latest_figure,
    save_scene_figure,
    scene_figures,
)
from core.runs.starter import ENV_VAR
from core.runs.store import delete_run, run_path
from tests.core.runs.test_active_model import make_run
from tests.core.runs.test_starter import make_starter


def figure(
    model: str, w: float, wo: float, source: str = "/data/voc", when: str | None = None
) -> SceneFigure:
    return SceneFigure(
        model, {"with_mask": w, "without_mask": wo}, "voc", "voc", source, 100, 606, "centerface", when
    )


def test_saved_in_the_run_folder_newest_first_one_per_scene_set(workspace: Path) -> None:
    run_id = make_run(workspace)
    assert scene_figures(run_id) == [] and latest_figure(run_id) is None
    first = save_scene_figure(figure(run_id, 0.5, 0.4))
    assert first.measured_at  # stamped when saved
    save_scene_figure(figure(run_id, 0.6, 0.5, source="/data/other"))
    save_scene_figure(figure(run_id, 0.7, 0.6))  # same set as the first: replaces it
    kept = scene_figures(run_id)
    assert [f.source for f in kept] == ["/data/voc", "/data/other"]
    assert kept[0].found_and_right == {"with_mask": 0.7, "without_mask": 0.6}
    assert json.loads((run_path(run_id) / RUN_FILE).read_text())["format"] == 1
    assert not list(run_path(run_id).glob(f".{RUN_FILE}.*"))  # no temporary file left behind


def test_at_most_keep_figures(workspace: Path) -> None:
    run_id = make_run(workspace)
    for i in range(KEEP + 3):
        save_scene_figure(figure(run_id, 0.5, 0.5, source=f"/data/{i}"))
    assert len(scene_figures(run_id)) == KEEP


def test_starter_figures_live_in_the_workspace_and_fall_back_to_starter_json(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cv = {"faces": 606, "found_and_right": {"with_mask": 0.7786, "without_mask": 0.6098}}
    monkeypatch.setenv(ENV_VAR, str(make_starter(tmp_path / "starter", b"x", info={"scene_cv": cv})))
    shipped = latest_figure(STARTER)
    assert shipped.describe() == (
        "Scene test: with_mask 0.78, without_mask 0.61 found-and-right in 5-fold cross-validation "
        "over the 100 shared VOC scenes (606 faces)"
    )
    save_scene_figure(figure(STARTER, 0.8, 0.7, when="2026-12-07T10:00:00+00:00"))
    assert (workspace / STARTER_FILE).is_file()
    assert latest_figure(STARTER).describe() == (
        "Scene test: with_mask 0.80, without_mask 0.70 found-and-right on 100 VOC scenes of voc "
        "(606 faces), 2026-12-07"
    )


def test_a_deleted_run_keeps_nothing(workspace: Path) -> None:
    run_id = make_run(workspace)
    delete_run(run_id)
    with pytest.raises(TrainingError):
        save_scene_figure(figure(run_id, 0.5, 0.5))
    assert scene_figures(run_id) == [] and scene_figures("../evil") == []


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"figures": 3}', '{"figures": [1, {"found_and_right": "x"}, {"kind": "voc"}]}'],
)
def test_a_damaged_file_reads_as_no_figures(workspace: Path, text: str) -> None:
    run_id = make_run(workspace)
    (run_path(run_id) / RUN_FILE).write_text(text)
    assert scene_figures(run_id) == []
    save_scene_figure(figure(run_id, 0.5, 0.5))  # and is replaced by the next test
    assert len(scene_figures(run_id)) == 1


def test_figure_from_dict_keeps_only_readable_values() -> None:
    data = {
        "found_and_right": {"a": 0.5, "b": "x", "c": float("nan"), "d": True},
        "kind": "project",
        "scene_set": "street",
        "photos": -1,
        "faces": 12,
        "measured_at": 5,
    }
    fig = figure_from_dict(data, "r")
    assert fig.found_and_right == {"a": 0.5} and fig.photos is None and fig.measured_at is None
    assert fig.describe() == "Scene test: a 0.50 found-and-right on photos of project street (12 faces)"


def test_compare_uses_the_same_scene_set(workspace: Path) -> None:
    a, b = make_run(workspace), make_run(workspace)
    save_scene_figure(figure(b, 0.8, 0.6))
    save_scene_figure(figure(b, 0.1, 0.1, source="/data/other"))  # b's newest, on other scenes
    save_scene_figure(figure(a, 0.9, 0.3))
    c = compare_figures(a, b)
    assert c.comparable and c.lower and c.replaced.source == "/data/voc"
    assert not compare_figures(b, a).lower  # b's newest is on /data/other: nothing to compare
