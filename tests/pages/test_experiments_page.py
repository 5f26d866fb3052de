"""AppTest of pages/experiments.py on a fake run store (no training happens here)."""

from __future__ import annotations

import json
import os

from streamlit.testing.v1 import AppTest

from app.widgets.common import literal
from core.fsutil import atomic_write_json
from core.runs.active_model import get_active, set_active
from core.runs.scene_figures import SceneFigure, save_scene_figure
from core.runs.store import list_runs, load_run, write_status
from tests.fake_runs import failed_run, finished_run, make_manifest, running_run
from tests.pages.conftest import open_page, open_section, run, texts


def app() -> AppTest:
    return open_page("experiments.py")


def test_empty_workspace_explains_what_to_do(workspace) -> None:
    at = run(app())
    assert "No dataset version yet" in texts(at)
    open_section(at, "Compare")
    assert "No runs yet" in texts(at)


def test_launch_shows_run_count_and_estimate_then_queues(workspace, monkeypatch) -> None:
    version = make_manifest()
    finished_run(version, "lenet", 8, 0.8)
    started = []
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: started.append(1) or 4242)
    at = run(app())
    at.multiselect(key="exp_models").set_value(["lenet", "small_vgg"])
    at.multiselect(key="sweep_batch_size").set_value([8, 32])
    run(at)
    assert "**4 run(s)**" in texts(at)
    assert "rough guess" in texts(at), "small_vgg has no measured run yet"
    at.button(key="exp_start").click()
    run(at)
    queued = [r for r in list_runs() if r.state == "queued"]
    assert len(queued) == 4 and started
    assert {(r.config["model"], r.config["batch_size"]) for r in queued} == {
        (m, b) for m in ("lenet", "small_vgg") for b in (8, 32)
    }


def test_seed_preset_fills_the_batch_size_axis(workspace) -> None:
    make_manifest()
    at = run(app())
    next(b for b in at.button if b.label.startswith("Batch size vs validation")).click()
    run(at)
    assert at.multiselect(key="sweep_batch_size").value == [1, 8, 16, 32, 64, 128]
    assert "**6 run(s)**" in texts(at)


def test_queue_shows_progress_and_cancel_stops_a_run(workspace) -> None:
    version = make_manifest()
    rid = running_run(version, os.getpid())
    at = open_section(run(app()), "Queue")
    assert any("epoch 2/4" in str(p.proto.text) for p in at.get("progress"))
    at.button(key=f"cancel-{rid}").click()
    run(at)
    assert (load_run(rid).path / "cancel").exists()


def test_compare_failed_error_active_model_and_delete(workspace) -> None:
    version = make_manifest()
    a = finished_run(version, "lenet", 8, 0.8)
    b = finished_run(version, "lenet", 32, 0.9)
    bad = failed_run(version)
    at = open_section(run(app()), "Compare")
    assert len(at.get("plotly_chart")) >= 5  # two curves, final metrics, sweep, confusion matrices
    assert at.selectbox(key="sweep_key").value == "batch_size"
    at.selectbox(key="action_run").set_value(bad)
    run(at)
    assert "ValueError: boom" in "\n".join(c.value for c in at.code)
    at.selectbox(key="action_run").set_value(b)
    run(at)
    at.button(key="make_active").click()
    run(at)
    assert get_active() == b
    assert at.get("button_group")[0].value == "Compare"  # the action did not jump to Launch
    assert any("now the active model" in s.value for s in at.success)
    next(t for t in at.text_input if t.label == "Run name").input("big batch")
    next(b for b in at.button if b.label == "Rename").click()
    run(at)
    assert "big batch" in at.dataframe[0].value["name"].tolist()
    at.selectbox(key="action_run").set_value(a)
    run(at)
    at.button(key="confirm_delete").click()
    run(at)
    assert a not in {r.run_id for r in list_runs()}


def test_queue_says_when_a_watched_run_finished_and_opens_it_in_compare(workspace) -> None:
    version = make_manifest()
    rid = running_run(version, os.getpid())
    at = open_section(run(app()), "Queue")
    assert "Finished:" not in "\n".join(s.value for s in at.success)
    write_status(load_run(rid).path, state="done", finished_at="2026-11-22T10:02:00+00:00")
    run(at)
    assert any(s.value.startswith(f"Finished: {rid}") for s in at.success)
    at.button(key=f"open-cmp-{rid}").click()
    run(at)
    assert at.get("button_group")[0].value == "Compare"
    assert at.selectbox(key="action_run").value == rid


def test_scene_recipe_options_reach_the_queued_configs(workspace, monkeypatch) -> None:
    version = make_manifest()
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: 4242)
    at = run(app())
    at.selectbox(key="exp_weights").set_value("source_balanced")
    at.selectbox(key="exp_degrade").set_value(1)
    at.selectbox(key="exp_ft_blocks").set_value(6)
    at.selectbox(key="exp_warm").set_value("none")
    run(at)
    at.button(key="exp_start").click()
    run(at)
    [queued] = [r for r in list_runs() if r.state == "queued"]
    cfg = queued.config
    assert cfg["dataset_version"] == version and cfg["class_weight"] == "source_balanced"
    assert (cfg["degrade"], cfg["degrade_copies"]) == ("lowres+blur+jpeg", 1)
    assert (cfg["fine_tune_blocks"], cfg["fine_tune_epochs"], cfg["fine_tune_learning_rate"]) == (6, 8, 1e-4)
    assert cfg["warm_start"] == "none"


def test_launch_defaults_are_the_command_lines_and_say_what_they_chose(workspace, monkeypatch) -> None:
    from core.runs.config import RunConfig
    from core.runs.recipes import plan_run

    version = make_manifest()
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: 4242)
    at = run(app())
    notes = " ".join(i.value for i in at.info)
    assert "no faces cut from photos" in notes  # this dataset is crops only: the crop recipe
    at.button(key="exp_start").click()
    run(at)
    [queued] = [r for r in list_runs() if r.state == "queued"]
    # the page's run is the run the command line would start with the same defaults
    cli = plan_run(RunConfig(model="mobilenet_v2", dataset_version=version)).config.to_dict()
    assert queued.config == cli and queued.config["warm_start"] == "starter"


def test_mobilenet_is_not_offered_without_any_imagenet_base(workspace, monkeypatch) -> None:
    make_manifest()
    monkeypatch.setattr(
        "app.experiments.launch.unavailable_reason",
        lambda model=None: "MobileNetV2 needs ImageNet weights and none are here.",
    )
    at = run(app())
    from models.registry import MODELS

    options = at.multiselect(key="exp_models").options
    assert MODELS["lenet"].title in options and MODELS["mobilenet_v2"].title not in options
    assert any("none are here" in w.value for w in at.warning)


def collapsed(run_id: str) -> str:
    """Give finished run `run_id` the metrics of a model that calls every face with_mask."""
    path = load_run(run_id).path
    metrics = json.loads((path / "metrics.json").read_text())
    metrics.update(
        accuracy=0.864,
        macro_f1=0.464,
        confusion_matrix=[[95, 0], [15, 0]],
        per_class={
            "with_mask": {"precision": 0.864, "recall": 1.0, "f1": 0.93, "support": 95},
            "without_mask": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 15},
        },
    )
    atomic_write_json(path / "metrics.json", metrics)
    return run_id


SENTENCE = "This model calls almost every face with_mask: without_mask recall 0.00 on its test split."


def test_compare_flags_a_collapsed_run_and_asks_before_making_it_active(workspace) -> None:
    version = make_manifest()
    healthy = finished_run(version, "lenet", 8, 0.8)
    bad = collapsed(finished_run(version, "lenet", 32, 0.9))
    at = open_section(run(app()), "Compare")
    assert f"{literal(bad)}: {literal(SENTENCE)}" in texts(at, "warning")
    assert healthy not in texts(at, "warning")
    at.selectbox(key="action_run").set_value(bad)
    run(at)
    at.button(key="make_active").click()
    run(at)
    assert get_active() is None, "a flagged run is not made active at once"
    shown = texts(at)
    assert "the active model?" in shown and literal(SENTENCE) in shown
    assert f"Run {literal(bad)}: no scene test yet" in shown
    at.button(key="make_active_cancel").click()
    run(at)
    assert get_active() is None and not any(b.key == "make_active_confirm" for b in at.button)
    at.button(key="make_active").click()
    run(at)
    at.button(key="make_active_confirm").click()
    run(at)
    assert get_active() == bad
    assert any("now the active model" in s.value for s in at.success)


def test_make_active_asks_when_the_run_scored_lower_on_the_scene_test(workspace) -> None:
    version = make_manifest()
    current, worse = finished_run(version, "lenet", 8, 0.8), finished_run(version, "lenet", 32, 0.9)
    set_active(current)
    for run_id, without in ((current, 0.61), (worse, 0.2)):
        figure = {"with_mask": 0.78, "without_mask": without}
        save_scene_figure(SceneFigure(run_id, figure, "voc", "voc", "/data/voc", 100, 606))
    at = open_section(run(app()), "Compare")
    at.selectbox(key="action_run").set_value(worse)
    run(at)
    at.button(key="make_active").click()
    run(at)
    assert get_active() == current
    shown = texts(at)
    assert "scored lower on the scene test than run" in shown
    assert literal("without_mask 0.20 found-and-right on 100 VOC scenes of voc (606 faces)") in shown
    assert (
        f"Replaces run {literal(current)}: " + literal("Scene test: with_mask 0.78, without_mask 0.61")
        in shown
    )
    at.button(key="make_active_confirm").click()
    run(at)
    assert get_active() == worse


def test_queue_flags_a_collapsed_run_when_it_finishes(workspace) -> None:
    version = make_manifest()
    rid = running_run(version, os.getpid())
    at = open_section(run(app()), "Queue")
    path = load_run(rid).path
    atomic_write_json(path / "metrics.json", {"accuracy": 0.9, "classes": ["with_mask", "without_mask"]})
    collapsed(rid)
    write_status(path, state="done", finished_at="2026-11-22T10:02:00+00:00")
    run(at)
    assert literal(SENTENCE) in texts(at, "warning")


def test_queue_visit_restarts_a_killed_workers_queue_and_requeues(workspace, monkeypatch) -> None:
    version = make_manifest()
    started: list[int] = []
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: started.append(1) or 4242)
    dead = running_run(version, 2**22 + 99)  # left running by a worker that was killed
    at = open_section(run(app()), "Queue")
    assert not started, "nothing queued: no worker is started"
    assert load_run(dead).status.get("error"), "the dead worker's run is recorded as interrupted"
    assert f"{dead} · interrupted" in "\n".join(e.label for e in at.expander)
    at.button(key=f"requeue-{dead}").click()
    run(at)
    assert load_run(dead).state == "queued" and started, "queued again and a worker started for it"


def test_queue_reads_only_active_and_latest_ended_runs(workspace, monkeypatch) -> None:
    import app.experiments.queue as queue

    version = make_manifest()
    for _ in range(7):
        failed_run(version)
    finished_run(version, "lenet", 8, 0.8)
    rid = running_run(version, os.getpid())
    calls: list[dict] = []
    real = queue.list_runs
    monkeypatch.setattr(queue, "list_runs", lambda **kw: calls.append(kw) or real(**kw))
    at = open_section(run(app()), "Queue")
    assert calls and all(kw.get("states") for kw in calls), "never every run"
    ended = [e for e in at.expander if not e.label.startswith("Executor")]  # the executor's is above
    assert len(ended) == 5 and any("epoch 2/4" in str(p.proto.text) for p in at.get("progress"))
    assert f"cancel-{rid}" in {b.key for b in at.button}


def test_launch_shows_the_sweep_limit_and_refuses_above_it(workspace, monkeypatch) -> None:
    make_manifest()
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: 4242)
    at = run(app())
    at.multiselect(key="exp_models").set_value(["lenet"])
    at.multiselect(key="sweep_batch_size").set_value([8, 32])
    run(at)
    assert "**2 run(s)** (at most 500 per sweep)" in texts(at)
    for key, values in (
        ("sweep_epochs", [1, 2, 3, 5]),
        ("sweep_learning_rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]),
    ):
        at.multiselect(key=key).set_value(values)
    at.multiselect(key="sweep_neurons").set_value([32, 64, 128, 500])
    at.multiselect(key="sweep_dropout").set_value([0.0, 0.2, 0.3, 0.5])
    run(at)
    assert "**640 run(s)**: over the limit of 500 runs per sweep." in texts(at)
    assert "at most 500 can be queued at once" in texts(at, "error")
    assert "exp_start" not in {b.key for b in at.button} and list_runs() == []


def test_opening_the_page_resumes_a_queue_left_by_a_killed_worker(workspace, monkeypatch) -> None:
    from core.runs.store import create_run

    version = make_manifest()
    started: list[int] = []
    monkeypatch.setattr("core.training.worker.ensure_worker", lambda root=None: started.append(1) or 4242)
    waiting = create_run({"model": "lenet", "dataset_version": version})  # queued, no worker alive
    run(app())  # the Launch section, the page's first
    assert started and load_run(waiting).state == "queued"
