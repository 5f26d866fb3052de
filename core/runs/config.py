"""RunConfig: what one training run is, validated, with model defaults filled in; sweep grids
(capped at SWEEP_LIMIT runs); config files read with bounded size and nesting."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

from core.data.degrade import parse_kinds
from core.data.manifest import find_manifest
from core.errors import ConfigError, MaskStudioError
from core.fsutil import finite_number
from models.registry import DEFAULT_MODEL, MODELS, TRAINING_SETTINGS, Backbone, get_spec, model_names

LOSSES = ("categorical_crossentropy", "mean_squared_error", "mean_squared_logarithmic_error")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
WEIGHTS = ("imagenet", "random")
CLASS_WEIGHTS = ("none", "balanced", "source_balanced")
WARM_STARTS = ("starter", "none")
#: A warm start from a finished run's model: "run:<run id>" (core.runs.pretrained).
RUN_WARM_PREFIX = "run:"
#: The most runs one sweep may queue (the Launch page shows it; the command line refuses more).
SWEEP_LIMIT = 500
#: A config or sweep file is small: at most this many bytes and this much nesting ({"grid": {"k": [..]}}
#: is 3 deep). Larger or deeper files are refused before they are parsed.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_DEPTH = 16
#: The recipe keys that a None leaves to core.runs.recipes (chosen per dataset at queue time).
RECIPE_KEYS = (
    "warm_start",
    "fine_tune_blocks",
    "fine_tune_epochs",
    "fine_tune_learning_rate",
    "degrade",
    "degrade_copies",
    "class_weight",
)


class Settings(NamedTuple):
    """The training settings (TRAINING_SETTINGS) of a resolved config, none of them None."""

    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    neurons: int
    dropout: float
    augment: bool


@dataclass(frozen=True)
class RunConfig:
    """One run. None training settings take the model's default when `resolved()` is called; None
    recipe settings (RECIPE_KEYS) are chosen for the dataset by core.runs.recipes.plan_run."""

    model: str = DEFAULT_MODEL
    dataset_version: str = ""
    image_size: int | None = None
    batch_size: int | None = None
    epochs: int | None = None
    loss: str = "categorical_crossentropy"
    optimizer: str = "adam"
    learning_rate: float | None = None
    neurons: int | None = None
    dropout: float | None = None
    augment: bool | None = None
    seed: int = 42
    weights: str = "imagenet"  # pretrained families only: "imagenet" or "random" (explicit random init)
    fast_path: bool = True  # pretrained families: train the head on cached features when possible
    name: str = ""
    # Resources a run declares on a Ray cluster (core.training.ray_executor); the local worker ignores them.
    cpus: int = 1
    gpu: bool = False  # ask for one GPU (granted only when the cluster has one)
    # The recipe. None = chosen for the dataset when the run is queued (core.runs.recipes): the
    # Launch page and the command line get the same run from the same defaults.
    # "starter": a pretrained family starts from the shipped starter when it is of that family
    # (base, and head when the classes match; core.runs.pretrained); "none": ImageNet base and a new head.
    warm_start: str | None = None
    fine_tune_blocks: int | None = None  # pretrained families: unfreeze the top N blocks after the head
    fine_tune_epochs: int | None = None
    fine_tune_learning_rate: float | None = None
    degrade: str | None = (
        None  # scene-like copies of the training images: "lowres+blur+jpeg" (core.data.degrade)
    )
    degrade_copies: int | None = None  # degraded copies per training image when `degrade` is set
    # "balanced": each class weighs as much in the loss as the others; "source_balanced": each
    # (source, class) cell does (core.data.provenance sources: folder dataset, scene crops, ...)
    class_weight: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Build from JSON data; unknown keys are refused by name."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown config key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def resolved(self) -> RunConfig:
        """A copy with the model's defaults filled in, validated (ConfigError on a bad value)."""
        try:
            spec = get_spec(self.model)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        filled = {k: spec.defaults[k] for k in TRAINING_SETTINGS if getattr(self, k) is None}
        cfg = replace(self, **filled)
        cfg.validate()
        size = cfg.settings().image_size
        _check(
            size >= spec.min_image_size,
            "image_size",
            size,
            f"at least {spec.min_image_size} px for {cfg.model}",
        )
        return cfg

    def settings(self) -> Settings:
        """The training settings, typed; ConfigError naming those that `resolved()` has not filled."""
        values = {k: getattr(self, k) for k in TRAINING_SETTINGS}
        unset = [k for k, v in values.items() if v is None]
        if unset:
            raise ConfigError(f"{', '.join(unset)} not set: resolve the config (RunConfig.resolved) first")
        return Settings(**values)

    @property
    def backbone(self) -> Backbone | None:
        """The pretrained base of this config's model family (models.registry), or None."""
        spec = MODELS.get(self.model)
        return None if spec is None else spec.backbone

    @property
    def uses_fast_path(self) -> bool:
        """A pretrained family with a frozen base and no augmentation: head trained on cached features."""
        b = self.backbone
        return b is not None and b.fast_path and self.fast_path and not self.augment

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value."""
        _check(self.model in model_names(), "model", self.model, f"one of {model_names()}")
        _check(
            isinstance(self.dataset_version, str) and bool(self.dataset_version),
            "dataset_version",
            self.dataset_version,
            "a dataset version id",
        )
        _int(self, "image_size", 32, 512)
        _int(self, "batch_size", 1, 1024)
        _int(self, "epochs", 1, 1000)
        _int(self, "neurons", 1, 8192)
        _int(self, "seed", 0, 2**31 - 1)
        _check(self.loss in LOSSES, "loss", self.loss, f"one of {LOSSES}")
        _check(self.optimizer in OPTIMIZERS, "optimizer", self.optimizer, f"one of {OPTIMIZERS}")
        _check(self.weights in WEIGHTS, "weights", self.weights, f"one of {WEIGHTS}")
        _check(
            finite_number(self.learning_rate) and 0 < self.learning_rate <= 1,
            "learning_rate",
            self.learning_rate,
            "a number in (0, 1]",
        )
        _check(finite_number(self.dropout) and 0 <= self.dropout < 1, "dropout", self.dropout, "in [0, 1)")
        _int(self, "cpus", 1, 256)
        for key in ("augment", "fast_path", "gpu"):
            _check(isinstance(getattr(self, key), bool), key, getattr(self, key), "true or false")
        _check(isinstance(self.name, str), "name", self.name, "a string")
        self.validate_recipe()

    def validate_recipe(self) -> None:
        """Check the recipe keys that are set (None: chosen later for the dataset)."""
        if self.fine_tune_blocks is not None:
            # a family without a backbone ignores it (a sweep gives every model the same recipe)
            b = self.backbone
            most = (
                b.blocks
                if b is not None
                else max((s.backbone.blocks for s in MODELS.values() if s.backbone), default=0)
            )
            _int(self, "fine_tune_blocks", 0, most)
        if self.fine_tune_epochs is not None:
            _int(self, "fine_tune_epochs", 0, 1000)
        v = self.fine_tune_learning_rate
        if v is not None:
            _check(finite_number(v) and 0 < v <= 1, "fine_tune_learning_rate", v, "a number in (0, 1]")
        if self.degrade is not None:
            _check(isinstance(self.degrade, str), "degrade", self.degrade, "a string such as 'lowres+blur'")
            parse_kinds(self.degrade)
        if self.degrade_copies is not None:
            _int(self, "degrade_copies", 0, 8)
        if self.class_weight is not None:
            _check(
                self.class_weight in CLASS_WEIGHTS,
                "class_weight",
                self.class_weight,
                f"one of {CLASS_WEIGHTS}",
            )
        if self.warm_start is not None:
            _check(
                is_warm_start(self.warm_start),
                "warm_start",
                self.warm_start,
                f"one of {WARM_STARTS} or '{RUN_WARM_PREFIX}<run id>'",
            )
            _check(
                self.warm_start == "none" or self.backbone is not None,
                "warm_start",
                self.warm_start,
                "'none' for a model that has no pretrained base to start from",
            )

    @property
    def planned(self) -> bool:
        """Every recipe key is set (core.runs.recipes.plan_run has chosen them)."""
        return all(getattr(self, k) is not None for k in RECIPE_KEYS)


def is_warm_start(value: Any) -> bool:
    """One of WARM_STARTS, or "run:<run id>" (a run id: letters, digits, '-', '_' and '.')."""
    if value in WARM_STARTS:
        return True
    if not isinstance(value, str) or not value.startswith(RUN_WARM_PREFIX):
        return False
    run_id = value[len(RUN_WARM_PREFIX) :]
    return 0 < len(run_id) <= 100 and all(c.isalnum() or c in "-_." for c in run_id) and run_id[0] != "."


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: expected {expected}")


def _int(cfg: RunConfig, key: str, lo: int, hi: int) -> None:
    v = getattr(cfg, key)
    ok = isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
    _check(ok, key, v, f"an integer from {lo} to {hi}")


def parse_config_text(text: str, source: str = "config") -> Any:
    """JSON data of a config or sweep file; ConfigError when it is over MAX_CONFIG_BYTES, nested
    deeper than MAX_CONFIG_DEPTH (checked before parsing, so no RecursionError), or not JSON."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source} is {size} bytes; a config file is at most {MAX_CONFIG_BYTES} bytes")
    depth = json_depth(text)
    if depth > MAX_CONFIG_DEPTH:
        raise ConfigError(f"{source} is nested {depth} levels deep; a config is at most {MAX_CONFIG_DEPTH}")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}") from None


def read_config_file(path: str | Path) -> Any:
    """parse_config_text of a file, refused by its size before it is read (messages do not repeat
    the path: the caller names the file)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"the file is {size} bytes; a config file is at most {MAX_CONFIG_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("the file is not UTF-8 text") from None
    return parse_config_text(text, "the file")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of [ ] and { } in JSON text, brackets inside strings not counted (one
    pass, no recursion)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a config may hold")


def _grid_parts(grid: Any) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(base, axes) of a sweep grid, its shape checked (ConfigError)."""
    if not isinstance(grid, dict):
        raise ConfigError("a sweep grid must be a JSON object")
    if "grid" in grid:
        base, axes = grid.get("base") or {}, grid["grid"]
        if not isinstance(base, dict) or not isinstance(axes, dict) or set(grid) - {"base", "grid"}:
            raise ConfigError('a sweep grid has only "base" and "grid" keys; "grid" maps keys to lists')
        base = dict(base)
    else:
        base = {k: v for k, v in grid.items() if not isinstance(v, list)}
        axes = {k: v for k, v in grid.items() if isinstance(v, list)}
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid axis {key!r} must be a non-empty list")
    return base, axes


def grid_size(grid: Any) -> int:
    """How many runs a sweep grid makes (counted, not expanded)."""
    return math.prod(len(values) for values in _grid_parts(grid)[1].values())


def check_sweep_size(count: int, limit: int = SWEEP_LIMIT) -> None:
    """ConfigError when a sweep of `count` runs is over `limit`."""
    if count > limit:
        raise ConfigError(
            f"this sweep has {count:,} runs; at most {limit:,} can be queued at once "
            "(remove values from an axis, or split the sweep)"
        )


def expand_grid(grid: Any, *, limit: int = SWEEP_LIMIT) -> list[RunConfig]:
    """Sweep grid -> run configs (each validated).

    Either {"base": {...config...}, "grid": {key: [values, ...]}} or a flat config in which
    every list value is an axis. The product of all axes is taken, in key order. A grid of more
    than `limit` runs is refused (ConfigError) before any point is made.
    """
    base, axes = _grid_parts(grid)
    check_sweep_size(grid_size(grid), limit)
    keys = list(axes)
    configs = []
    for combo in itertools.product(*(axes[k] for k in keys)):
        cfg = RunConfig.from_dict({**base, **dict(zip(keys, combo, strict=True))})
        cfg.resolved()  # validate every point before any run starts
        configs.append(cfg)
    return configs


def require_dataset_versions(configs: Iterable[RunConfig], root: Path | None = None) -> None:
    """ConfigError naming the first dataset version of `configs` that is not in the workspace
    (each distinct version is looked up once)."""
    for version in dict.fromkeys(c.dataset_version for c in configs):
        try:
            find_manifest(version, root)
        except MaskStudioError:
            raise ConfigError(
                f"dataset_version={version!r} does not exist in this workspace: build and split a dataset "
                "on the Datasets page, or pick a version it lists"
            ) from None
