"""What the Experiments page computes from the run store: sweeps, time estimates, progress and
comparison tables. Plain data in, plain data out; the page only draws it.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ConfigError, MaskStudioError
from core.fsutil import atomic_write_bytes
from core.runs.config import SWEEP_LIMIT, RunConfig, check_sweep_size, require_dataset_versions
from core.runs.store import RunRecord, rows_to_csv_text
from models.registry import MODELS

#: Sweepable keys, in the order the page shows them.
SWEEP_KEYS = ("batch_size", "neurons", "dropout", "epochs", "loss", "image_size", "augment", "learning_rate")
#: Choices offered for each sweep key (the seed report's grids where it had one).
SWEEP_CHOICES: dict[str, list[Any]] = {
    "batch_size": [1, 8, 16, 32, 64, 128],
    "neurons": [32, 64, 128, 500],
    "dropout": [0.0, 0.2, 0.3, 0.5],
    "epochs": [1, 2, 3, 5, 10, 15, 20, 30],
    "loss": ["categorical_crossentropy", "mean_squared_error", "mean_squared_logarithmic_error"],
    "image_size": [100, 150, 180, 224],
    "augment": [False, True],
    "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
}
#: The seed report's two tables, each one sweep.
SEED_SWEEPS: dict[str, dict[str, list[Any]]] = {
    "Batch size vs validation accuracy (seed table 1)": {"batch_size": [1, 8, 16, 32, 64, 128]},
    "Neurons vs validation accuracy (seed table 2)": {"neurons": [32, 64, 128, 500]},
}
#: Fallback training throughput (images/s at 96 px, frozen-feature fast path counted per
#: feature pass) used only when this machine has no finished run of the model yet: each
#: family's `images_per_s` in models.registry; this for a model that is not registered.
FALLBACK_IMAGES_PER_S = 50.0
#: The most runs one sweep queues (core.runs.config.SWEEP_LIMIT; kept under its old name).
MAX_RUNS = SWEEP_LIMIT
#: A fine-tuning epoch costs about this many feature passes (forward through the whole base plus
#: backward through the unfrozen blocks; rough, from the 5-class runs in docs/training-defaults.md).
FINE_TUNE_COST = 2.5


def sweep_count(models: Sequence[str], axes: dict[str, list[Any]]) -> int:
    """How many runs sweep_configs would make (counted, nothing expanded)."""
    return len(models) * math.prod(len(axes[k]) for k in SWEEP_KEYS if axes.get(k))


def sweep_configs(
    models: Sequence[str],
    dataset_version: str,
    axes: dict[str, list[Any]],
    base: dict[str, Any] | None = None,
    root: Any = None,
) -> list[RunConfig]:
    """Every (model, axis values) combination as a validated RunConfig.

    An empty axis means "the model's default". Raises ConfigError for a bad value, a sweep of
    more than SWEEP_LIMIT runs (before any point is made), or a dataset version that is not in
    the workspace `root`.
    """
    if not models:
        raise ConfigError("choose at least one model")
    if not dataset_version:
        raise ConfigError("choose a dataset version")
    keys = [k for k in SWEEP_KEYS if axes.get(k)]
    check_sweep_size(sweep_count(models, axes))
    configs = []
    for model in models:
        for combo in itertools.product(*(axes[k] for k in keys)):
            data = {**(base or {}), "model": model, "dataset_version": dataset_version}
            data.update(dict(zip(keys, combo, strict=True)))
            cfg = RunConfig.from_dict(data)
            cfg.resolved()
            configs.append(cfg)
    require_dataset_versions(configs, root)
    return configs


# ----- time -------------------------------------------------------------------------------
def _pixels(image_size: Any) -> float:
    return float(image_size or 96) ** 2


@dataclass(frozen=True)
class Throughput:
    """Measured training speed of one model family on this machine (images/s at 96 px)."""

    model: str
    images_per_s_96: float
    runs: int
    measured: bool


def throughput(records: Iterable[RunRecord], model: str) -> Throughput:
    """Median images/s over this model's finished runs, scaled to 96 px by pixel count."""
    rates = []
    for r in records:
        m = r.metrics or {}
        if r.state != "done" or r.config.get("model") != model:
            continue
        train_n = m.get("train_count") or _train_count(str(r.config.get("dataset_version") or ""))
        seconds = float(m.get("train_seconds") or 0) + float(m.get("feature_seconds") or 0)
        epochs = int(m.get("epochs_run") or r.config.get("epochs") or 0)
        if not train_n or seconds <= 0 or epochs <= 0:
            continue
        fast = bool(m.get("fast_path"))
        images = train_n * (1 if fast else epochs)
        rates.append(images / seconds * _pixels(r.config.get("image_size")) / _pixels(96))
    if rates:
        rates.sort()
        return Throughput(model, rates[len(rates) // 2], len(rates), True)
    spec = MODELS.get(model)
    return Throughput(model, spec.images_per_s if spec else FALLBACK_IMAGES_PER_S, 0, False)


def _train_count(version: str) -> int | None:
    """Training images of a dataset version (None when the manifest is gone)."""
    try:
        return _manifest_train_count(version) if version else None
    except MaskStudioError:
        return None


@functools.lru_cache(maxsize=256)
def _manifest_train_count(version: str) -> int:
    """Training images of a dataset version, read once per process: a version id is the hash of
    its manifest, so its count never changes (throughput asks for it per run and per estimate)."""
    from core.data.manifest import find_manifest

    return len(find_manifest(version)[0].split_files("train"))


def estimate_seconds(cfg: RunConfig, train_count: int, records: Sequence[RunRecord]) -> tuple[float, bool]:
    """(estimated seconds, based on a measurement?) for one run of `train_count` images."""
    r = cfg.resolved()
    settings = r.settings()
    tp = throughput(records, r.model)
    rate = tp.images_per_s_96 * _pixels(96) / _pixels(settings.image_size)
    images = train_count * (1 + (r.degrade_copies or 0 if r.degrade else 0))
    passes: float = 1 if r.uses_fast_path else settings.epochs
    if r.fine_tune_blocks and r.fine_tune_epochs:  # whole-model epochs: forward, and backward through the top
        passes += r.fine_tune_epochs * FINE_TUNE_COST
    overhead = 10.0  # process start, decode cache, evaluation
    return overhead + images * passes / max(rate, 1e-6), tp.measured


# ----- progress ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    """A running run's progress, ready to show."""

    phase: str
    fraction: float | None
    text: str
    elapsed_s: float | None
    eta_s: float | None


def progress_of(record: RunRecord, now: float | None = None) -> Progress:
    """Epoch/batch, loss/accuracy, elapsed and ETA from progress.json (None where unknown)."""
    p = record.progress or {}
    phase = str(p.get("phase") or record.state)
    epoch, epochs = p.get("epoch") or 0, p.get("epochs") or 0
    batch, batches = p.get("batch") or 0, p.get("batches") or 0
    fraction: float | None = None
    parts = [phase]
    if phase.startswith("features") and batches:
        fraction = min(1.0, batch / batches)
        parts.append(f"batch {batch}/{batches}")
    elif epochs and batches:
        fraction = min(1.0, (max(epoch - 1, 0) * batches + batch) / (epochs * batches))
        parts.append(f"epoch {epoch}/{epochs} · batch {batch}/{batches}")
    for key in ("loss", "accuracy"):
        if isinstance(p.get(key), (int, float)):
            parts.append(f"{key} {p[key]:.4f}")
    elapsed = _elapsed(record, now)
    eta = None
    if fraction and elapsed and 0 < fraction < 1 and not phase.startswith("features"):
        eta = elapsed * (1 - fraction) / fraction
    return Progress(phase, fraction, " · ".join(parts), elapsed, eta)


def _elapsed(record: RunRecord, now: float | None) -> float | None:
    started = record.status.get("started_at")
    if not started:
        return None
    try:
        t0 = datetime.fromisoformat(str(started)).timestamp()
    except ValueError:
        return None
    end = record.status.get("finished_at")
    if end:
        try:
            return datetime.fromisoformat(str(end)).timestamp() - t0
        except ValueError:
            return None
    return (now if now is not None else time.time()) - t0


# ----- comparison -------------------------------------------------------------------------
CONFIG_COLUMNS = ("model", "dataset_version", *SWEEP_KEYS, "optimizer", "seed")


#: The user-given name of a run, beside its files (the config stays what was trained).
RUN_NAME_FILE = "name.txt"
MAX_RUN_NAME = 80


def run_name(record: RunRecord) -> str:
    """The run's user-given name ("" when none): renamed on Compare, else set at launch."""
    try:
        name = (record.path / RUN_NAME_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    return name or str(record.config.get("name") or "")


def rename_run(record: RunRecord, name: str) -> str:
    """Give a run a readable name (empty clears it); returns the stored name."""
    clean = " ".join(str(name).split())
    if len(clean) > MAX_RUN_NAME:
        raise ConfigError(f"a run name has at most {MAX_RUN_NAME} characters")
    atomic_write_bytes(record.path / RUN_NAME_FILE, clean.encode("utf-8"))
    return clean


def dataset_name(version: Any) -> str:
    """The name of the dataset a split version belongs to ("" when it is gone)."""
    from core.data.manifest import find_manifest

    try:
        return find_manifest(str(version))[1].name if version else ""
    except MaskStudioError:
        return ""


def run_label(record: RunRecord) -> str:
    """A short readable name: the run id (it holds the model), after the run's name if any."""
    name = run_name(record)
    return f"{name} · {record.run_id}" if name else record.run_id


def short_id(run_id: str) -> str:
    """The run id without its time stamp: "lenet-69614e" for "20261129-223659-lenet-69614e"."""
    parts = run_id.split("-", 2)
    stamped = len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit()
    return parts[2] if stamped else run_id


def chart_labels(runs: Sequence[tuple[str, str]]) -> list[str]:
    """Short distinct labels for charts of (run id, run name) pairs: the name, else the short
    id; a label that two runs would share gets the short id (or else the whole run id)."""
    base = [name or short_id(run_id) for run_id, name in runs]
    counts = Counter(base)
    return [
        label if counts[label] == 1 else f"{name} · {short_id(run_id)}" if name else run_id
        for label, (run_id, name) in zip(base, runs, strict=True)
    ]


def comparison_rows(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """One flat row per run, headline metrics first, then config (the runs table and CSV)."""
    rows = []
    datasets: dict[str, str] = {}
    for r in records:
        m = r.metrics or {}
        version = str(r.config.get("dataset_version") or "")
        if version not in datasets:
            datasets[version] = dataset_name(version)
        row: dict[str, Any] = {
            "name": run_name(r),
            "test_accuracy": m.get("accuracy"),
            "test_macro_f1": m.get("macro_f1"),
            "best_val_accuracy": m.get("best_val_accuracy"),
            "state": r.state,
            "run": r.run_id,
            "dataset": datasets[version],
        }
        row.update({k: r.config.get(k) for k in CONFIG_COLUMNS})
        row.update(
            {
                "params": m.get("params_total"),
                "train_seconds": m.get("train_seconds"),
                "total_seconds": m.get("total_seconds"),
                "inference_ms_per_image": m.get("inference_ms_per_image"),
                "latency_ms_single": m.get("latency_ms_single"),
                "created_at": r.status.get("created_at"),
            }
        )
        rows.append(row)
    return rows


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """CSV bytes of `rows` (columns: the union of keys, in first-seen order)."""
    return rows_to_csv_text(rows).encode("utf-8")


def varying_keys(records: Sequence[RunRecord]) -> list[str]:
    """Sweep keys that vary within one model family: two runs of the same model differ in it.

    A key that differs only between families (LeNet's 128 neurons, MobileNetV2's 256) was never
    swept: plotting it would compare architectures, not the parameter.
    """
    by_model: dict[str, list[RunRecord]] = {}
    for r in records:
        by_model.setdefault(str(r.config.get("model")), []).append(r)
    out = []
    for key in SWEEP_KEYS:
        for runs in by_model.values():
            if len({repr(r.config.get(key)) for r in runs}) > 1:
                out.append(key)
                break
    return out


def no_sweep_reason(records: Sequence[RunRecord]) -> str:
    """Why the selected runs give no sweep chart (call when `varying_keys` is empty)."""
    models = {str(r.config.get("model")) for r in records}
    if len(records) < 2:
        return "A sweep chart needs at least two runs of one model that differ in one setting."
    if len(models) == len(records):
        return (
            "Each selected run is a different model, so no setting was swept within one model: "
            "compare them in the charts above. Select two or more runs of one model that differ "
            "in a setting (batch size, neurons, ...) for a sweep chart."
        )
    return "The runs of each model share every sweep setting: no sweep chart."


def sweep_points(records: Sequence[RunRecord], key: str) -> list[dict[str, Any]]:
    """Finished runs as (model, x = config[key], best val accuracy, test accuracy), sorted by x."""
    pts = []
    for r in records:
        if r.state != "done" or not r.metrics:
            continue
        pts.append(
            {
                "model": r.config.get("model"),
                key: r.config.get(key),
                "best_val_accuracy": r.metrics.get("best_val_accuracy"),
                "test_accuracy": r.metrics.get("accuracy"),
                "run": r.run_id,
            }
        )
    return sorted(pts, key=lambda p: (str(p["model"]), _sortable(p[key])))


def _sortable(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool) or value is None:
        return (0, str(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def per_class_rows(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """Per-class precision/recall/F1/support of every finished run (one row per run and class)."""
    rows = []
    for r in records:
        for cls, vals in ((r.metrics or {}).get("per_class") or {}).items():
            rows.append(
                {
                    "run": run_label(r),
                    "class": cls,
                    **{k: vals.get(k) for k in ("precision", "recall", "f1", "support")},
                }
            )
    return rows
