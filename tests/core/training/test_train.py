"""The training engine end to end on a tiny synthetic dataset (1-2 epochs, 32 px)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.data.arrays import load_arrays
from core.data.manifest import find_manifest
from core.errors import ConfigError, TrainingError
from core.runs.store import create_run, list_runs, load_run, read_history, run_path, write_status
from core.training import train as training
from core.training.features import base_features, feature_cache_path
from core.vision.model_files import load_model_file
from models import mobilenet_v2
from tests.models.synth import CLASSES, make_dataset_version

pytestmark = pytest.mark.slow

METRIC_KEYS = {
    "accuracy",
    "macro_f1",
    "per_class",
    "confusion_matrix",
    "classes",
    "params_total",
    "params_trainable",
    "train_seconds",
    "inference_ms_per_image",
    "test_count",
    "best_epoch",
    "best_val_accuracy",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("ws")
    return ws


@pytest.fixture(scope="module")
def version(root: Path) -> str:
    return make_dataset_version(root)


def lenet(version: str, **extra: object) -> dict:
    return {
        "model": "lenet",
        "dataset_version": version,
        "image_size": 32,
        "epochs": 2,
        "neurons": 16,
        "seed": 3,
        **extra,
    }


@pytest.fixture(scope="module")
def lenet_run(root: Path, version: str) -> str:
    return training.run_here(lenet(version), root)


def test_a_run_leaves_a_complete_record(root: Path, lenet_run: str) -> None:
    rec = load_run(lenet_run, root)
    assert rec.state == "done", rec.status.get("traceback")
    files = {p.name for p in rec.path.iterdir()}
    assert {
        "config.json",
        "status.json",
        "history.csv",
        "progress.json",
        "metrics.json",
        "best.keras",
        "model.keras",
        "labels.txt",
    } <= files
    assert not [f for f in files if f.endswith(".tmp")]
    assert rec.config["model"] == "lenet" and rec.config["batch_size"] == 32  # resolved defaults stored
    assert [row["epoch"] for row in rec.history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rec.history[0])
    m = rec.metrics
    assert METRIC_KEYS <= set(m)
    assert m["test_count"] == 8 and m["classes"] == list(CLASSES)
    assert np.array(m["confusion_matrix"]).sum() == 8 and np.array(m["confusion_matrix"]).shape == (2, 2)
    assert set(m["per_class"]) == set(CLASSES) and 0.0 <= m["accuracy"] <= 1.0
    assert (rec.path / "labels.txt").read_text().split() == list(CLASSES)
    assert rec.progress["phase"] == "evaluate"
    assert rec.status["started_at"] <= rec.status["finished_at"]


def test_same_config_seed_and_version_give_the_same_test_metrics(  # lenet's default: augmentation on
    root: Path, version: str, lenet_run: str
) -> None:
    again = load_run(training.run_here(lenet(version), root), root)
    first = load_run(lenet_run, root)
    assert first.config["augment"] is True  # seeded augmentation is reproducible too
    assert abs(again.metrics["accuracy"] - first.metrics["accuracy"]) <= 0.01
    np.testing.assert_allclose(
        [r["loss"] for r in again.history], [r["loss"] for r in first.history], rtol=1e-3
    )


@pytest.mark.parametrize("loss", ["mean_squared_error", "mean_squared_logarithmic_error"])
def test_other_losses_train(root: Path, version: str, loss: str) -> None:
    rec = load_run(
        training.run_here(lenet(version, loss=loss, epochs=1, optimizer="sgd", augment=False), root), root
    )
    assert rec.state == "done", rec.status.get("traceback")
    assert rec.metrics["accuracy"] is not None


def test_mobilenet_fast_path_caches_features_and_fine_tunes(
    root: Path, version: str, keras_home: Path
) -> None:
    cfg = {
        "model": "mobilenet_v2",
        "dataset_version": version,
        "image_size": 32,
        "epochs": 2,
        "neurons": 8,
        "fine_tune_blocks": 1,
        "fine_tune_epochs": 1,
    }
    first = load_run(training.run_here(cfg, root), root)
    assert first.state == "done", first.status.get("traceback")
    assert first.metrics["fast_path"] is True and first.metrics["features_from_cache"] is False
    assert [r["phase"] for r in first.history] == ["head", "head", "fine_tune"]
    model = load_model_file(first.path / "best.keras")
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 2)
    # the per-base, per-size feature bank, named by the digest of the base the run used
    bank = feature_cache_path(version, 32, root, base=mobilenet_v2.base_digest(model))
    assert bank.is_file()
    manifest, folder = find_manifest(version, root)
    arrays = load_arrays(manifest, folder, 32, root)
    feats, _, from_cache = base_features(None, arrays, bank)
    assert from_cache and feats["train"].shape == (24, 1280)


def test_cancel_flag_stops_the_run_without_metrics(root: Path, version: str) -> None:
    run_id = create_run(lenet(version, epochs=50), root)
    path = run_path(run_id, root)
    (path / "cancel").write_text("now")
    write_status(path, state="running")
    assert training.execute_run(run_id, root) == "cancelled"
    rec = load_run(run_id, root)
    assert rec.state == "cancelled" and rec.metrics is None
    assert len(read_history(path)) <= 1


def test_a_run_for_a_missing_dataset_version_is_refused_before_any_folder(root: Path) -> None:
    before = len(list_runs(root))
    with pytest.raises(ConfigError, match="000000000000"):
        training.run_here({"model": "lenet", "dataset_version": "000000000000"}, root)
    assert len(list_runs(root)) == before


def test_a_failure_is_recorded_with_its_traceback(root: Path) -> None:
    # queued while the version existed (here: written directly), trained after it went away
    run_id = create_run({"model": "lenet", "dataset_version": "000000000000"}, root)
    write_status(run_path(run_id, root), state="running")
    training.execute_run(run_id, root)
    rec = load_run(run_id, root)
    assert rec.state == "failed"
    assert "000000000000" in rec.status["error"] and "Traceback" in rec.status["traceback"]
    assert rec.metrics is None


def test_unknown_run_is_an_error(root: Path) -> None:
    with pytest.raises(TrainingError):
        load_run("no-such-run", root)


def test_degraded_copies_and_balanced_weights_train(root: Path, version: str) -> None:
    rec = load_run(
        training.run_here(
            lenet(version, epochs=1, degrade="lowres+blur+jpeg", degrade_copies=2, class_weight="balanced"),
            root,
        ),
        root,
    )
    assert rec.state == "done", rec.status.get("traceback")
    manifest, _ = find_manifest(version, root)
    n_train = len(manifest.split_files("train"))
    # three times the training images went through the epoch (the original and two copies)
    progress = json.loads((rec.path / "progress.json").read_text())
    assert progress["batches"] == -(-3 * n_train // rec.config["batch_size"])


def test_feature_bank_is_shared_by_dataset_versions_with_the_same_images(
    tmp_path: Path, keras_home: Path
) -> None:
    ws = tmp_path / "ws"
    first = make_dataset_version(ws)
    cfg = {"model": "mobilenet_v2", "dataset_version": first, "image_size": 32, "epochs": 1, "neurons": 8}
    a = load_run(training.run_here(cfg, ws), ws)
    assert a.state == "done" and a.metrics["features_from_cache"] is False
    # the same files split with another seed: another version, the same images
    from core.data.dataset import Dataset
    from core.data.split import split_dataset

    manifest, _ = find_manifest(first, ws)
    second = split_dataset(Dataset.open(manifest.dataset, ws), seed=99).manifest.version
    assert second != first
    b = load_run(training.run_here({**cfg, "dataset_version": second}, ws), ws)
    assert b.state == "done" and b.metrics["features_from_cache"] is True
