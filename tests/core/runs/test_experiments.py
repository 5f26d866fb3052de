from __future__ import annotations

import csv
import io
import os

import pytest

from core.errors import ConfigError
from core.runs.config import RunConfig
from core.runs.experiments import (
    chart_labels,
    comparison_rows,
    estimate_seconds,
    no_sweep_reason,
    per_class_rows,
    progress_of,
    rename_run,
    rows_to_csv,
    run_label,
    run_name,
    short_id,
    sweep_configs,
    sweep_count,
    sweep_points,
    throughput,
    varying_keys,
)
from core.runs.store import list_runs, load_run
from tests.fake_runs import failed_run, finished_run, make_manifest, running_run


def test_sweep_is_the_product_of_axes_per_model(workspace) -> None:
    axes = {"batch_size": [8, 32], "neurons": [], "augment": [False, True]}
    assert sweep_count(["lenet", "small_vgg"], axes) == 8
    configs = sweep_configs(["lenet", "small_vgg"], make_manifest(), axes)
    assert len(configs) == 8
    assert {(c.model, c.batch_size, c.augment) for c in configs} == {
        (m, b, a) for m in ("lenet", "small_vgg") for b in (8, 32) for a in (False, True)
    }
    assert all(c.neurons is None for c in configs), "an empty axis keeps the model default"


@pytest.mark.parametrize(
    ("models", "version", "axes", "message"),
    [
        ([], "v1", {}, "at least one model"),
        (["lenet"], "", {}, "dataset version"),
        (["lenet"], "v1", {"batch_size": [0]}, "batch_size"),
        (["lenet"], "v1", {"batch_size": list(range(1, 200)), "epochs": [1, 2, 3]}, "at most 500"),
        (["lenet"], "v1", {"batch_size": [8, 32]}, "'v1' does not exist"),
    ],
)
def test_bad_sweeps_are_refused_by_name(workspace, models, version, axes, message) -> None:
    with pytest.raises(ConfigError, match=message):
        sweep_configs(models, version, axes)


def test_estimate_uses_measured_throughput_and_scales_with_epochs_and_pixels(workspace) -> None:
    version = make_manifest()
    cfg = RunConfig(model="lenet", dataset_version=version, epochs=2, image_size=96)
    guess, measured = estimate_seconds(cfg, 1000, [])
    assert not measured and guess > 0
    finished_run(version, "lenet", 8, 0.9)  # 14 images x 2 epochs in 28 s -> 1 image/s at 96 px
    records = list_runs()
    tp = throughput(records, "lenet")
    assert tp.measured and tp.images_per_s_96 == pytest.approx(1.0)
    two, _ = estimate_seconds(cfg, 100, records)
    four, _ = estimate_seconds(
        RunConfig(model="lenet", dataset_version=version, epochs=4, image_size=96), 100, records
    )
    big, _ = estimate_seconds(
        RunConfig(model="lenet", dataset_version=version, epochs=2, image_size=192), 100, records
    )
    assert four - 10 == pytest.approx(2 * (two - 10))
    assert big - 10 == pytest.approx(4 * (two - 10))


def test_progress_fraction_text_and_eta(workspace) -> None:
    version = make_manifest()
    record = load_run(running_run(version, os.getpid()))
    p = progress_of(record, now=record_start(record) + 30)
    assert p.fraction == pytest.approx(3 / 8)
    assert "epoch 2/4" in p.text and "batch 1/2" in p.text and "loss 0.5000" in p.text
    assert p.elapsed_s == pytest.approx(30) and p.eta_s == pytest.approx(50)


def record_start(record) -> float:
    from datetime import datetime

    return datetime.fromisoformat(record.status["started_at"]).timestamp()


def test_comparison_rows_csv_sweep_points_and_per_class(workspace) -> None:
    version = make_manifest()
    a = finished_run(version, "lenet", 8, 0.8)
    b = finished_run(version, "lenet", 32, 0.9)
    failed_run(version)
    records = [load_run(a), load_run(b)]
    assert varying_keys(records) == ["batch_size"]
    pts = sweep_points(list_runs(), "batch_size")
    assert [(p["batch_size"], p["best_val_accuracy"]) for p in pts] == [(8, 0.8), (32, 0.9)]
    rows = comparison_rows(list_runs())
    assert {r["state"] for r in rows} == {"done", "failed"}
    parsed = list(csv.DictReader(io.StringIO(rows_to_csv(rows).decode())))
    assert len(parsed) == 3 and "test_accuracy" in parsed[0]
    pc = per_class_rows(records)
    assert len(pc) == 4 and {r["class"] for r in pc} == {"with_mask", "without_mask"}


def test_sweep_keys_vary_within_one_model_family_only(workspace) -> None:
    """LeNet at 128 neurons and MobileNetV2 at 256 were never a neurons sweep (issue 12)."""
    version = make_manifest()
    a = load_run(finished_run(version, "lenet", 32, 0.8, neurons=128))
    b = load_run(finished_run(version, "mobilenet_v2", 32, 0.9, neurons=256))
    assert varying_keys([a, b]) == []
    assert "different model" in no_sweep_reason([a, b])
    c = load_run(finished_run(version, "lenet", 32, 0.85, neurons=64))
    assert varying_keys([a, b, c]) == ["neurons"]


def test_runs_get_a_name_and_show_their_dataset_first_columns_are_the_metrics(workspace) -> None:
    version = make_manifest()
    record = load_run(finished_run(version, "lenet", 8, 0.8))
    assert run_name(record) == "" and run_label(record) == record.run_id
    assert rename_run(record, "  first   try ") == "first try"
    assert run_label(load_run(record.run_id)) == f"first try · {record.run_id}"
    with pytest.raises(ConfigError, match="at most"):
        rename_run(record, "x" * 200)
    (row,) = comparison_rows(list_runs())
    assert list(row)[:3] == ["name", "test_accuracy", "test_macro_f1"]
    assert row["name"] == "first try" and row["dataset"] == "demo" and row["dataset_version"] == version


def test_chart_labels_are_short_and_distinct() -> None:
    stamped = "20261129-223659-lenet-69614e"
    assert short_id(stamped) == "lenet-69614e"
    assert short_id("my-run") == "my-run", "an id without a time stamp stays whole"
    other = "20261129-223730-mobilenet_v2-41036a"
    assert chart_labels([(stamped, ""), (other, "big batch")]) == ["lenet-69614e", "big batch"]
    # a name two runs share gets each run's short id
    assert chart_labels([(stamped, "try"), (other, "try")]) == [
        "try · lenet-69614e",
        "try · mobilenet_v2-41036a",
    ]
    # a name that is another run's short id makes both distinct
    assert len(set(chart_labels([(stamped, ""), (other, "lenet-69614e")]))) == 2
