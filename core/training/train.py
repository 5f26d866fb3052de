"""One training run: config -> fit -> a complete run folder (core.runs.store), trained in this
process (`run_here`, the command line's way: core.training.cli) or by the background worker
(`execute_run`, called by core.training.worker).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.data.manifest import find_manifest
from core.errors import ConfigError, MaskStudioError, RunCancelled
from core.fsutil import atomic_write_json, atomic_write_text
from core.runs.config import RunConfig
from core.runs.recipes import plan_run
from core.runs.store import (
    cancel_requested,
    create_run,
    load_run,
    now_iso,
    run_path,
    write_status,
)


def _optimizer(name: str, learning_rate: float) -> Any:  # a keras.optimizers.Optimizer
    import keras

    return {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[
        name
    ](learning_rate=learning_rate)


def _compile(model: Any, cfg: RunConfig, learning_rate: float) -> None:
    import keras

    model.compile(
        optimizer=_optimizer(cfg.optimizer, learning_rate),
        loss=cfg.loss,
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def _seed(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def balanced_weights(y: Any, n_classes: int) -> dict[int, float]:
    """{class index: weight} so that every class weighs the same in the loss (sklearn's
    "balanced": n_samples / (n_classes * count)); classes absent from `y` get 1."""
    import numpy as np

    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    total = float(counts.sum())
    return {i: (total / (n_classes * c) if c else 1.0) for i, c in enumerate(counts.tolist())}


def source_balanced_weights(split: Any, sources: dict[str, Any]) -> Any:
    """Per-example weights giving every (source, class) cell the same total weight: scene crops
    of a rare class count as much as a large folder dataset's class. Sources come from the
    dataset's provenance (a degraded copy counts for its original); mean weight 1."""
    import numpy as np

    cells = [
        ((sources.get(k.split(":", 1)[0]) or {}).get("source", ""), int(c))
        for k, c in zip(split.keys, split.y, strict=True)
    ]
    counts: dict[tuple[str, int], int] = {}
    for cell in cells:
        counts[cell] = counts.get(cell, 0) + 1
    total = len(cells)
    return np.array([total / (len(counts) * counts[c]) for c in cells], np.float32)


def train(run_dir: Path, cfg: RunConfig, root: Path | None = None, *, echo: bool = False) -> dict[str, Any]:
    """Train `cfg` (resolved) into `run_dir`; returns the metrics written to metrics.json.

    Raises RunCancelled when the cancel flag stopped it, MaskStudioError on bad data.
    """
    import keras

    from core.data.arrays import SplitArrays, load_arrays
    from core.data.degrade import degraded_copies, parse_kinds
    from core.data.provenance import load_sources
    from core.training import evaluate, inputs
    from core.training.callbacks import RunRecorder, restore, save_model_atomic
    from core.training.features import base_features, feature_cache_path
    from core.training.rehearsal import PHOTO_CHECK_FILE, load_memory, misfit, save_memory, with_memory
    from core.training.warm import build_start_model

    t0 = time.perf_counter()
    if not cfg.planned:
        cfg = plan_run(cfg, root).config
    settings = cfg.settings()
    _seed(cfg.seed)
    manifest, folder = find_manifest(cfg.dataset_version, root)
    classes, n_cls = list(manifest.classes), len(manifest.classes)
    atomic_write_text(run_dir / "labels.txt", "".join(f"{c}\n" for c in classes))
    atomic_write_json(run_dir / "progress.json", {"phase": "decode", "updated_at": now_iso()})
    arrays = load_arrays(manifest, folder, settings.image_size, root)
    if len(arrays["train"]) == 0:
        raise ConfigError(f"dataset version {cfg.dataset_version} has no training images")
    kinds = parse_kinds(cfg.degrade)
    if kinds and cfg.degrade_copies:
        tr = arrays["train"]
        x, y, keys = degraded_copies(tr.x, tr.y, tr.keys, kinds, cfg.degrade_copies, cfg.seed)
        arrays["train"] = SplitArrays(x, y, tr.paths + [""] * (len(y) - len(tr.paths)), keys)
    sources = load_sources(folder)

    def loss_weights() -> tuple[Any, Any]:  # (class weights, per-example weights) of the train split
        if cfg.class_weight == "balanced":
            return balanced_weights(arrays["train"].y, n_cls), None
        if cfg.class_weight == "source_balanced":
            return None, source_balanced_weights(arrays["train"], sources)
        return None, None

    class_weight, sample_weights = loss_weights()
    decode_s = time.perf_counter() - t0
    has_val = len(arrays["val"]) > 0
    model, warm = build_start_model(cfg, classes)
    backbone = cfg.backbone  # the pretrained family's base (models.registry), None from scratch
    rec = RunRecorder(run_dir, model, monitor_val=has_val, echo=echo)

    def data(split: str, x: Any = None, shuffle: bool = False) -> Any:
        a = arrays[split]
        xs = a.x if x is None else x
        w = sample_weights if split == "train" else None
        return inputs.make_dataset(
            xs, a.y, n_cls, settings.batch_size, shuffle=shuffle, seed=cfg.seed, weights=w
        )

    def fit(fit_model: Any, phase: str, epochs: int, feats: dict[str, Any] | None = None) -> None:
        train_ds = data("train", None if feats is None else feats["train"], shuffle=True)
        val_ds = data("val", None if feats is None else feats["val"]) if has_val else None
        rec.start_phase(phase, epochs, -(-len(arrays["train"]) // settings.batch_size))
        fit_model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            callbacks=[rec],
            verbose=0,
            shuffle=False,
            class_weight=class_weight,
        )
        if rec.cancelled:
            raise RunCancelled("cancelled by the user")

    feature_s, features_cached = 0.0, False
    rehearsed, rehearsal_note = 0, ""
    t_train = time.perf_counter()
    if cfg.uses_fast_path and backbone is not None:
        digest = backbone.base_digest(model) if cfg.weights == "imagenet" else ""
        cache = (
            feature_cache_path(manifest.version, settings.image_size, root, base=digest, family=cfg.model)
            if digest
            else None
        )

        def report(split: str, batch: int, batches: int) -> None:
            if cancel_requested(run_dir):
                raise RunCancelled("cancelled by the user")
            rec.phase, rec.batches = f"features:{split}", batches
            rec.write_progress(batch=batch)

        feats, feature_s, features_cached = base_features(model, arrays, cache, report, family=cfg.model)
        if warm is not None and warm.memory:
            memory = load_memory(Path(warm.memory))
            why = misfit(memory, classes, digest, settings.image_size, True)
            if why is None and memory is not None:
                feats["train"], arrays["train"] = with_memory(
                    feats["train"], arrays["train"], memory, sources
                )
                class_weight, sample_weights = loss_weights()
                rehearsed = len(memory)
                if len(memory.check_y):  # the starter's held-out photo faces travel with the run
                    check = replace(memory, feats=memory.check_feats[:0], y=memory.check_y[:0])
                    save_memory(run_dir / PHOTO_CHECK_FILE, check)
            else:
                rehearsal_note = f"No rehearsal: {why}."
        head = backbone.head_model(model)
        _compile(head, cfg, settings.learning_rate)
        fit(head, "head", settings.epochs, feats)
    else:
        _compile(model, cfg, settings.learning_rate)
        fit(model, "train", settings.epochs)
    if backbone is not None and cfg.fine_tune_blocks and cfg.fine_tune_epochs:
        if cfg.fine_tune_learning_rate is None:
            raise ConfigError("fine_tune_learning_rate is not set: plan the run (core.runs.recipes) first")
        backbone.fine_tune(model, cfg.fine_tune_blocks)
        _compile(model, cfg, cfg.fine_tune_learning_rate)
        fit(model, "fine_tune", cfg.fine_tune_epochs)
    train_s = time.perf_counter() - t_train

    rec.phase = "evaluate"
    rec.write_progress()
    save_model_atomic(model, run_dir / "model.keras")
    rec.flush_best()
    if rec.best_weights is not None:
        restore(rec.best_weights)
    test = arrays["test"]
    probs, ms_per_image = evaluate.predict_timed(model, test.x, settings.batch_size)
    metrics: dict[str, Any] = evaluate.score_predictions(test.y, probs.argmax(axis=1), classes)
    metrics.update(evaluate.parameter_counts(model))
    metrics.update(
        {
            "model": cfg.model,
            "dataset_version": cfg.dataset_version,
            "evaluated": "best",
            "best_epoch": rec.best_epoch,
            "best_val_accuracy": rec.best_score[0] if rec.best_score and has_val else None,
            "epochs_run": len(rec.rows),
            "fast_path": cfg.uses_fast_path,
            "warm_start": None if warm is None else warm.text,
            "base_weights": None if warm is None else warm.base.origin,
            "rehearsed_faces": rehearsed,
            "rehearsal_note": rehearsal_note or None,
            "features_from_cache": features_cached,
            "decode_seconds": round(decode_s, 3),
            "feature_seconds": round(feature_s, 3),
            "train_seconds": round(train_s, 3),
            "inference_ms_per_image": round(ms_per_image, 3),
            "latency_ms_single": round(
                evaluate.single_image_latency_ms(model, (test.x if len(test) else arrays["train"].x)[0]), 3
            ),
            "total_seconds": round(time.perf_counter() - t0, 3),
        }
    )
    atomic_write_json(run_dir / "metrics.json", metrics)
    keras.backend.clear_session()
    return metrics


def execute_run(run_id: str, root: Path | None = None, *, echo: bool = False) -> str:
    """Train a run that is marked running in this process; record done/failed/cancelled.
    Never raises for a training problem: the status says what happened. Returns the state."""
    path = run_path(run_id, root)
    try:
        cfg = plan_run(RunConfig.from_dict(load_run(run_id, root).config), root).config
        train(path, cfg, root, echo=echo)
    except RunCancelled:
        write_status(path, state="cancelled", finished_at=now_iso())
        return "cancelled"
    except BaseException as exc:
        message = str(exc) if isinstance(exc, MaskStudioError) else f"{type(exc).__name__}: {exc}"
        write_status(
            path, state="failed", finished_at=now_iso(), error=message, traceback=traceback.format_exc()
        )
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return "failed"
    write_status(path, state="done", finished_at=now_iso())
    return "done"


def run_here(config: RunConfig | dict[str, Any], root: Path | None = None, *, echo: bool = False) -> str:
    """Create a run and train it in this process (the CLI's way); returns the run id."""
    cfg = config if isinstance(config, RunConfig) else RunConfig.from_dict(config)
    # created already claimed by this process: the background worker never sees it queued
    run_id = create_run(plan_run(cfg, root).config.to_dict(), root, claim=True)
    execute_run(run_id, root, echo=echo)
    return run_id
