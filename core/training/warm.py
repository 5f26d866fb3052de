"""The model a run starts from: built by the registry, with a MobileNetV2 base from the first
source that reads (core.runs.pretrained: the starter, else the Keras cache) and the starter's
head copied when the warm start plans it."""

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
    from models import mobilenet_v2
    from models.registry import build_model

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

    if cfg.model != "mobilenet_v2" or cfg.weights != "imagenet":
        return build(cfg.weights), None
    warm = plan_warm_start(cfg.warm_start or "none", classes, cfg.neurons or 0)
    failures = []
    for source in [warm.base] + [s for s in base_sources() if s != warm.base]:
        try:
            model = build(source.weights)
        except mobilenet_v2.WeightsUnavailable as exc:
            failures.append(f"{source.text}: {exc}")
            continue
        if source != warm.base:  # the planned source failed: base only, said plainly
            warm = WarmStart(source, None, f"Starts from {source.text}: {failures[0]}; no warm start.")
        elif warm.head_from and not mobilenet_v2.copy_head(
            model, mobilenet_v2.reference_model(warm.head_from)
        ):
            warm = replace(
                warm,
                head_from=None,
                memory=None,
                text="Starts from the starter's base only: its head does not fit.",
            )
        return model, warm
    raise ConfigError("MobileNetV2's ImageNet base could not be read: " + "; ".join(failures))
