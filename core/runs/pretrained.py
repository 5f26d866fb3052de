"""Where a pretrained family's run gets its weights, offline: its ImageNet base, and the warm
start from the shipped starter model or from a finished run of the same family.

Each function takes the family's name (`model`, models.registry; its `Backbone` names the
weights file). Nothing is downloaded. The base is copied from the starter's `model.keras` when
the starter is of that family (it holds the frozen ImageNet base), else read from the Keras cache
file (`$KERAS_HOME/models/<Backbone.weights_file>`). A warm-started run also starts its head from
the starter's when the classes, their order and the head's width match; otherwise it starts from
the base alone and says why. Plain Python: TensorFlow is not imported here.
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
from models.registry import DEFAULT_MODEL, Backbone, get_spec

#: The head width of the starter when starter.json does not say (models.registry's default).
STARTER_NEURONS_FALLBACK = 256


@dataclass(frozen=True)
class BaseSource:
    """One place the ImageNet base can be read from: what `make_base` takes, and plain words."""

    weights: str  # models.registry.Backbone.make_base's `weights`: a .keras/.h5 path
    origin: str  # "starter" | "keras-cache"
    text: str


@dataclass(frozen=True)
class WarmStart:
    """What a run starts from: the base's source, whether the head is copied, and why (one sentence)."""

    base: BaseSource
    head_from: str | None  # the .keras file whose head is copied, or None
    text: str
    memory: str | None = None  # the starter's memory of photo faces to rehearse (core.training.rehearsal)


def backbone_of(model: str) -> Backbone:
    """The pretrained base of family `model`; ConfigError for an unknown or from-scratch family."""
    try:
        backbone = get_spec(model).backbone
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if backbone is None:
        raise ConfigError(f"{model} has no pretrained base: it trains from scratch")
    return backbone


def starter_model() -> str:
    """The family of the shipped starter (starter.json's recipe; the default model when unsaid)."""
    recipe = starter_info().get("recipe") or {}
    value = recipe.get("model") if isinstance(recipe, dict) else None
    return value if isinstance(value, str) and value else DEFAULT_MODEL


def _keras_cache_file(model: str) -> Path:
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home).expanduser() / "models" / backbone_of(model).weights_file


def base_sources(model: str = DEFAULT_MODEL) -> list[BaseSource]:
    """Every usable source of family `model`'s ImageNet base, the preferred first (may be empty)."""
    out = []
    status = starter_status()
    if status.available and starter_model() == model:
        out.append(
            BaseSource(
                str(starter_dir() / MODEL_FILE),
                "starter",
                "the ImageNet base inside the shipped starter model (models/starter/model.keras)",
            )
        )
    cached = _keras_cache_file(model)
    if cached.is_file():
        out.append(BaseSource(str(cached), "keras-cache", f"the Keras cache file {cached}"))
    return out


def unavailable_reason(model: str = DEFAULT_MODEL) -> str | None:
    """Why pretrained family `model` cannot train here (plain words), or None when it can."""
    if base_sources(model):
        return None
    label, cached = backbone_of(model).label, _keras_cache_file(model)
    if starter_model() != model:
        return (
            f"{label} needs ImageNet weights and none are on this machine: the Keras cache has no "
            f"{cached.name}. Put that file into {cached.parent}{os.sep}."
        )
    reason = starter_status().reason or "the starter model is missing"
    return (
        f"{label} needs ImageNet weights and none are on this machine: {reason}, and the Keras "
        f"cache has no {cached.name}. Restore models/starter/ (git checkout) or put "
        f"that file into {cached.parent}{os.sep}."
    )


def base_source(model: str = DEFAULT_MODEL) -> BaseSource:
    """The preferred base source of family `model`; ConfigError with plain words when there is none."""
    sources = base_sources(model)
    if not sources:
        raise ConfigError(unavailable_reason(model) or f"no {backbone_of(model).label} base")
    return sources[0]


def starter_neurons() -> int:
    recipe = starter_info().get("recipe") or {}
    value = recipe.get("neurons") if isinstance(recipe, dict) else None
    return value if isinstance(value, int) and value > 0 else STARTER_NEURONS_FALLBACK


def plan_warm_start(
    warm_start: str, classes: list[str], neurons: int, model: str = DEFAULT_MODEL
) -> WarmStart:
    """What a run of pretrained family `model` with these settings starts from. ConfigError when
    no base exists."""
    if not is_warm_start(warm_start):
        raise ConfigError(
            f"warm_start={warm_start!r} is invalid: expected 'starter', 'none' or '{RUN_WARM_PREFIX}<run id>'"
        )
    if warm_start.startswith(RUN_WARM_PREFIX):
        return plan_run_warm_start(warm_start[len(RUN_WARM_PREFIX) :], classes, neurons, model)
    base = base_source(model)
    if warm_start == "none":
        return WarmStart(base, None, f"Starts from {base.text}, with a new head (warm start off).")
    if base.origin != "starter":
        why = "is not available" if starter_model() == model else f"is not a {backbone_of(model).label}"
        return WarmStart(base, None, f"Starts from {base.text}: the starter model {why}.")
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


def plan_run_warm_start(
    run_id: str, classes: list[str], neurons: int, model: str = DEFAULT_MODEL
) -> WarmStart:
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
    label = backbone_of(model).label
    if record.config.get("model") != model or record.config.get("weights", "imagenet") != "imagenet":
        raise ConfigError(
            f"warm start from run {run_id}: only a {label} run with an ImageNet base can be one"
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
