"""Where a MobileNetV2 run's pretrained weights come from, offline: its ImageNet base, and the
warm start from the shipped starter model.

Nothing is downloaded. The base is copied from the starter's `model.keras` (it holds the frozen
ImageNet MobileNetV2 base), else read from the Keras cache file
(`$KERAS_HOME/models/<WEIGHTS_FILE>`). A warm-started run also starts its head from the starter's
when the classes, their order and the head's width match; otherwise it starts from the base
alone and says why. Plain Python: TensorFlow is not imported here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError
from core.runs.config import RUN_WARM_PREFIX, is_warm_start
from core.runs.starter import (
    MEMORY_FILE,
    MODEL_FILE,
    starter_dir,
    starter_info,
    starter_labels,
    starter_status,
)
from models.registry import get_spec

#: The head width of the starter when starter.json does not say (models.registry's default).
STARTER_NEURONS_FALLBACK = 256


@dataclass(frozen=True)
class BaseSource:
    """One place the ImageNet base can be read from: what `make_base` takes, and plain words."""

    weights: str  # models.mobilenet_v2.make_base's `weights`: a .keras/.h5 path
    origin: str  # "starter" | "keras-cache"
    text: str


@dataclass(frozen=True)
class WarmStart:
    """What a run starts from: the base's source, whether the head is copied, and why (one sentence)."""

    base: BaseSource
    head_from: str | None  # the .keras file whose head is copied, or None
    text: str
    memory: str | None = None  # the starter's memory of photo faces to rehearse (core.training.rehearsal)


def _keras_cache_file() -> Path:
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home).expanduser() / "models" / get_spec("mobilenet_v2").weights_file


def base_sources() -> list[BaseSource]:
    """Every usable source of the ImageNet base, the preferred first (may be empty)."""
    out = []
    status = starter_status()
    if status.available:
        out.append(
            BaseSource(
                str(starter_dir() / MODEL_FILE),
                "starter",
                "the ImageNet base inside the shipped starter model (models/starter/model.keras)",
            )
        )
    cached = _keras_cache_file()
    if cached.is_file():
        out.append(BaseSource(str(cached), "keras-cache", f"the Keras cache file {cached}"))
    return out


def unavailable_reason() -> str | None:
    """Why MobileNetV2 cannot train here (plain words), or None when it can."""
    if base_sources():
        return None
    reason = starter_status().reason or "the starter model is missing"
    return (
        f"MobileNetV2 needs ImageNet weights and none are on this machine: {reason}, and the Keras "
        f"cache has no {_keras_cache_file().name}. Restore models/starter/ (git checkout) or put "
        f"that file into {_keras_cache_file().parent}{os.sep}."
    )


def base_source() -> BaseSource:
    """The preferred base source; ConfigError with plain words when there is none."""
    sources = base_sources()
    if not sources:
        raise ConfigError(unavailable_reason() or "no MobileNetV2 base")
    return sources[0]


def starter_neurons() -> int:
    recipe = starter_info().get("recipe") or {}
    value = recipe.get("neurons") if isinstance(recipe, dict) else None
    return value if isinstance(value, int) and value > 0 else STARTER_NEURONS_FALLBACK


def plan_warm_start(warm_start: str, classes: list[str], neurons: int) -> WarmStart:
    """What a MobileNetV2 run with these settings starts from. ConfigError when no base exists."""
    if not is_warm_start(warm_start):
        raise ConfigError(
            f"warm_start={warm_start!r} is invalid: expected 'starter', 'none' or '{RUN_WARM_PREFIX}<run id>'"
        )
    if warm_start.startswith(RUN_WARM_PREFIX):
        return plan_run_warm_start(warm_start[len(RUN_WARM_PREFIX) :], classes, neurons)
    base = base_source()
    if warm_start == "none":
        return WarmStart(base, None, f"Starts from {base.text}, with a new head (warm start off).")
    if base.origin != "starter":
        return WarmStart(base, None, f"Starts from {base.text}: the starter model is not available.")
    try:
        theirs = starter_labels()
    except Exception:  # noqa: BLE001 - a damaged labels.txt only means no head to copy
        theirs = []
    if list(classes) != list(theirs):
        return WarmStart(
            base,
            None,
            f"Starts from the starter's ImageNet base only: its classes {theirs} are not this "
            f"dataset's {list(classes)}, so the head is new.",
        )
    width = starter_neurons()
    if int(neurons) != width:
        return WarmStart(
            base,
            None,
            f"Starts from the starter's ImageNet base only: its head has {width} neurons, this run "
            f"{neurons}, so the head is new.",
        )
    memory = starter_dir() / MEMORY_FILE
    return WarmStart(
        base,
        base.weights,
        "Warm start: base and head from the starter model (same classes), then trained on this dataset"
        + (
            " alongside the starter's faces from photos (kept as features), so it keeps what the starter "
            "knew about photos."
            if memory.is_file()
            else "."
        ),
        str(memory) if memory.is_file() else None,
    )


def plan_run_warm_start(run_id: str, classes: list[str], neurons: int) -> WarmStart:
    """A warm start from finished run `run_id`'s model: its base (fine-tuned blocks included),
    and its head when the classes, their order and the head's width match. The starter's memory
    of photo faces travels along when the starter has one (core.training.rehearsal rehearses it
    only when it fits the base). ConfigError when the run cannot be a starting point."""
    from core.errors import ClassifierError, TrainingError
    from core.runs.models import run_labels, run_model_path
    from core.runs.store import load_run

    try:
        record = load_run(run_id)
    except TrainingError as exc:
        raise ConfigError(f"warm start from run {run_id}: {exc}") from exc
    if record.state != "done":
        raise ConfigError(f"warm start from run {run_id}: it is {record.state}, not finished")
    if record.config.get("model") != "mobilenet_v2" or record.config.get("weights", "imagenet") != "imagenet":
        raise ConfigError(
            f"warm start from run {run_id}: only a MobileNetV2 run with an ImageNet base can be one"
        )
    try:
        path = run_model_path(record.path)
        theirs = run_labels(record.path, record.metrics)
    except ClassifierError as exc:
        raise ConfigError(f"warm start from run {run_id}: {exc}") from exc
    base = BaseSource(str(path), "run", f"the model of run {run_id} (its base, fine-tuned blocks included)")
    memory = starter_dir() / MEMORY_FILE
    kept = str(memory) if starter_status().available and memory.is_file() else None
    width = record.config.get("neurons")
    if list(classes) != list(theirs):
        text = f"Starts from run {run_id}'s base only: its classes {theirs} are not this dataset's {list(classes)}, so the head is new."
        return WarmStart(base, None, text, kept)
    if not isinstance(width, int) or int(neurons) != width:
        text = f"Starts from run {run_id}'s base only: its head has {width} neurons, this run {neurons}, so the head is new."
        return WarmStart(base, None, text, kept)
    return WarmStart(
        base,
        str(path),
        f"Warm start: base and head from run {run_id} (same classes), then trained on this dataset.",
        kept,
    )
