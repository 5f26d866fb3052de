"""core.training.callbacks: RunRecorder writes progress.json and history.csv, keeps the best
weights by validation score, stops on the cancel flag; model saving is atomic."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import core.training.callbacks as callbacks
from core.runs.store import read_history
from core.training.callbacks import RunRecorder, restore, save_model_atomic, snapshot

pytestmark = pytest.mark.slow  # builds and fits Keras models


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
    return x, np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]


def bump(model: keras.Model, by: float) -> None:
    for w in model.weights:
        w.assign(w.numpy() + by)


def weights(model: keras.Model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in model.weights]


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunRecorder:
    monkeypatch.setattr(callbacks, "BEST_EVERY_S", 1e9)  # best.keras only on flush_best
    model = tiny_model()
    rec = RunRecorder(tmp_path, model)
    rec.set_model(model)
    return rec


def test_snapshot_and_restore_round_trip() -> None:
    model = tiny_model()
    before = weights(model)
    saved = snapshot(model)
    bump(model, 1.0)
    assert not np.allclose(weights(model)[0], before[0])
    restore(saved)
    for a, b in zip(weights(model), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_save_model_atomic_writes_a_loadable_model(tmp_path: Path) -> None:
    model = tiny_model()
    path = save_model_atomic(model, tmp_path / "m.keras")
    assert path == tmp_path / "m.keras" and [p.name for p in tmp_path.iterdir()] == ["m.keras"]
    back = keras.models.load_model(path, compile=False)
    x, _ = data(3)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_model()
    path = save_model_atomic(model, tmp_path / "m.keras")
    old = path.read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model_atomic(model, path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def test_history_numbers_epochs_across_phases(recorder: RunRecorder, tmp_path: Path) -> None:
    recorder.start_phase("head", 2, 3)
    for e in range(2):
        recorder.on_epoch_begin(e)
        recorder.on_epoch_end(
            e, {"loss": 1.0 - e / 10, "accuracy": 0.5, "val_loss": 0.9, "val_accuracy": 0.5}
        )
    recorder.start_phase("fine_tune", 1, 3)
    recorder.on_epoch_begin(0)
    recorder.on_epoch_end(0, {"loss": float("nan"), "accuracy": 0.75, "val_accuracy": 0.6})
    rows = read_history(tmp_path)
    assert [(r["epoch"], r["phase"]) for r in rows] == [(1, "head"), (2, "head"), (3, "fine_tune")]
    assert rows[1]["loss"] == pytest.approx(0.9) and rows[2]["accuracy"] == pytest.approx(0.75)
    assert rows[2].get("loss") in (None, "")  # NaN is not written as a number
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["phase"] == "fine_tune" and progress["epoch"] == 1 and progress["epochs"] == 1
    assert progress["batches"] == 3 and progress["batch"] == 3
    assert progress["loss"] is None and progress["accuracy"] == 0.75


def test_the_best_epoch_wins_by_val_accuracy_then_val_loss(recorder: RunRecorder, tmp_path: Path) -> None:
    model = recorder.target
    recorder.start_phase("train", 3, 1)
    recorder.on_epoch_end(0, {"val_accuracy": 0.5, "val_loss": 1.0})
    bump(model, 0.5)
    recorder.on_epoch_end(1, {"val_accuracy": 0.9, "val_loss": 0.8})
    best = weights(model)
    bump(model, 0.5)
    recorder.on_epoch_end(2, {"val_accuracy": 0.9, "val_loss": 0.9})  # same accuracy, higher loss
    assert recorder.best_epoch == 2
    assert not (tmp_path / "best.keras").exists(), "not written before flush_best (throttled)"
    current = weights(model)
    recorder.flush_best()
    for a, b in zip(weights(model), current, strict=True):
        np.testing.assert_array_equal(a, b)  # training goes on with its own weights
    saved = keras.models.load_model(tmp_path / "best.keras", compile=False)
    for a, b in zip([w.numpy() for w in saved.weights], best, strict=True):
        np.testing.assert_allclose(a, b)
    mtime = (tmp_path / "best.keras").stat().st_mtime_ns
    recorder.flush_best()  # nothing new: not written again
    assert (tmp_path / "best.keras").stat().st_mtime_ns == mtime


def test_without_validation_the_training_accuracy_is_monitored(tmp_path: Path) -> None:
    model = tiny_model()
    rec = RunRecorder(tmp_path, model, monitor_val=False)
    rec.set_model(model)
    rec.on_epoch_end(0, {"accuracy": 0.4, "val_accuracy": 0.9})
    rec.on_epoch_end(1, {"accuracy": 0.6, "val_accuracy": 0.1})
    assert rec.monitor == "accuracy" and rec.best_epoch == 2


def test_progress_is_throttled(
    recorder: RunRecorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(callbacks, "PROGRESS_EVERY_S", 1e9)
    recorder.write_progress(batch=0)
    recorder.on_train_batch_end(4, {"loss": 0.3})
    assert json.loads((tmp_path / "progress.json").read_text())["batch"] == 0
    monkeypatch.setattr(callbacks, "PROGRESS_EVERY_S", 0.0)
    recorder.on_train_batch_end(5, {"loss": 0.3, "accuracy": float("inf")})
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["batch"] == 6 and progress["loss"] == 0.3 and progress["accuracy"] is None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_real_fit_records_every_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tiny_model()
    rec = RunRecorder(tmp_path, model, echo=True)
    x, y = data()
    rec.start_phase("train", 3, 2)
    model.fit(x, y, validation_data=(x, y), epochs=3, batch_size=4, verbose=0, callbacks=[rec])
    assert [r["epoch"] for r in read_history(tmp_path)] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(read_history(tmp_path)[0])
    echoed = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [r["epoch"] for r in echoed] == [1, 2, 3]
    assert rec.best_weights is not None and not rec.cancelled


def test_the_cancel_flag_stops_at_the_next_batch(tmp_path: Path) -> None:
    model = tiny_model()
    rec = RunRecorder(tmp_path, model)
    (tmp_path / "cancel").write_text("now")
    x, y = data(16)
    rec.start_phase("train", 20, 4)
    model.fit(x, y, epochs=20, batch_size=4, verbose=0, callbacks=[rec])
    assert rec.cancelled and model.stop_training
    assert len(read_history(tmp_path)) <= 1
