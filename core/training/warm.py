"""The model a run starts from: built by the registry, with a pretrained family's base (its
models.registry.Backbone) from the first source that reads (core.runs.pretrained: the starter or
a finished run, else the Keras cache) and that model's head copied when the warm start plans it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.errors import ConfigError
from core.runs.config import RunConfig
from core.runs.pretrained import WarmStart, base_sources, plan_warm_start


def build_start_model(cfg: RunConfig, classes: list[str]) -> tuple[Any, WarmStart | None]:
    """(keras model, the warm start it got or None for a model without one). A starter whose file
    cannot be read falls back to the next base source without a warm start, and says so;
    ConfigError when no source reads."""
    from models.registry import WeightsUnavailable, build_model, get_spec

    settings = cfg.settings()

    def build(weights: str) -> Any:
        return build_model(
            cfg.model,
            settings.image_size,
            len(classes),
            settings.neurons,
            settings.dropout,
            settings.augment,
            cfg.seed,
            weights,
        )

    backbone = get_spec(cfg.model).backbone
    if backbone is None or cfg.weights != "imagenet":
        return build(cfg.weights), None
    warm = plan_warm_start(cfg.warm_start or "none", classes, cfg.neurons or 0, cfg.model)
    failures = []
    for source in [warm.base] + [s for s in base_sources(cfg.model) if s != warm.base]:
        try:
            model = build(source.weights)
        except WeightsUnavailable as exc:
            failures.append(f"{source.text}: {exc}")
            continue
        if source != warm.base:  # the planned source failed: base only, said plainly
            warm = WarmStart(source, None, f"Starts from {source.text}: {failures[0]}; no warm start.")
        elif warm.head_from and not backbone.copy_head(model, backbone.reference_model(warm.head_from)):
            warm = replace(
                warm,
                head_from=None,
                memory=None,
                text="Starts from the starter's base only: its head does not fit.",
            )
        return model, warm
    raise ConfigError(f"{backbone.label}'s ImageNet base could not be read: " + "; ".join(failures))
