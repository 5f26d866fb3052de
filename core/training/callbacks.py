"""The Keras callback that records a run into its folder while it trains."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import keras

from core.fsutil import atomic_write_json
from core.runs.store import cancel_requested, now_iso, write_history

#: Seconds between two progress.json writes (batch granularity, throttled).
PROGRESS_EVERY_S = 0.5
#: Seconds between two writes of best.keras while training (always written at the end).
BEST_EVERY_S = 20.0


def save_model_atomic(model: keras.Model, path: Path) -> Path:
    """model.save to a temporary .keras file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def snapshot(model: keras.Model) -> list[tuple[Any, Any]]:
    """(variable, value) for every weight: restorable even after trainable flags change."""
    return [(v, v.numpy()) for v in model.weights]


def restore(saved: list[tuple[Any, Any]]) -> None:
    """Put back the values of a snapshot."""
    for variable, value in saved:
        variable.assign(value)


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class RunRecorder(keras.callbacks.Callback):
    """Writes progress.json (throttled, every batch at most), history.csv (every epoch), keeps
    the best weights of `target` by validation accuracy and stops at the next batch when the
    run's cancel flag appears. One recorder can span several fit() calls (phases)."""

    def __init__(
        self, run_dir: Path, target: keras.Model, *, monitor_val: bool = True, echo: bool = False
    ) -> None:
        super().__init__()
        self.echo = echo
        self.run_dir = run_dir
        self.target = target
        self.monitor = "val_accuracy" if monitor_val else "accuracy"
        self.rows: list[dict[str, Any]] = []
        self.phase = "train"
        self.epoch_offset = 0
        self.epochs = 0
        self.batches = 0
        self.cancelled = False
        self.best_score: tuple[float, float] | None = None
        self.best_epoch = 0
        self.best_weights: list[tuple[Any, Any]] | None = None
        self._best_dirty = False
        self._best_saved_at = time.monotonic()
        self._last_progress = 0.0
        self._epoch = 0
        self._epoch_start = time.monotonic()
        self.started = time.monotonic()

    def start_phase(self, phase: str, epochs: int, batches: int) -> None:
        """Call before each fit(): names the phase and its size for progress.json."""
        self.epoch_offset = len(self.rows)
        self.phase, self.epochs, self.batches = phase, epochs, batches

    def write_progress(self, **extra: Any) -> None:
        data = {
            "phase": self.phase,
            "epoch": self._epoch,
            "epochs": self.epochs,
            "batches": self.batches,
            "elapsed_s": round(time.monotonic() - self.started, 3),
            "updated_at": now_iso(),
        }
        data.update({k: _number(v) if k in ("loss", "accuracy") else v for k, v in extra.items()})
        atomic_write_json(self.run_dir / "progress.json", data)
        self._last_progress = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1  # within the phase; history.csv numbers epochs across phases
        self._epoch_start = time.monotonic()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if cancel_requested(self.run_dir):
            self.cancelled = True
            self.model.stop_training = True
        if time.monotonic() - self._last_progress >= PROGRESS_EVERY_S:
            self.write_progress(batch=batch + 1, loss=logs.get("loss"), accuracy=logs.get("accuracy"))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        row: dict[str, Any] = {"epoch": len(self.rows) + 1, "phase": self.phase}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                row[key] = _number(logs[key])
        row["seconds"] = round(time.monotonic() - self._epoch_start, 3)
        self.rows.append(row)
        write_history(self.run_dir, self.rows)
        if self.echo:
            print(json.dumps(row), file=sys.stderr, flush=True)
        score = (_number(logs.get(self.monitor)) or 0.0, -(_number(logs.get("val_loss")) or 0.0))
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_epoch = score, row["epoch"]
            self.best_weights = snapshot(self.target)
            self._best_dirty = True
            if time.monotonic() - self._best_saved_at >= BEST_EVERY_S:
                self.flush_best()
        self.write_progress(batch=self.batches, loss=logs.get("loss"), accuracy=logs.get("accuracy"))

    def flush_best(self) -> None:
        """Write best.keras from the best weights seen so far (the target's weights are restored)."""
        if not self._best_dirty or self.best_weights is None:
            return
        current = snapshot(self.target)
        restore(self.best_weights)
        try:
            save_model_atomic(self.target, self.run_dir / "best.keras")
        finally:
            restore(current)
        self._best_dirty = False
        self._best_saved_at = time.monotonic()
