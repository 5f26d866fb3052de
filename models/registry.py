"""Model families by name: builders and their default training settings."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ModelSpec:
    """A model family: its builder and the settings a run uses unless the config overrides them.

    `builder` is "module:function", imported on first use, so listing models and validating
    configs does not import TensorFlow.
    """

    name: str
    title: str
    builder: str
    defaults: dict[str, Any] = field(default_factory=dict)
    pretrained: bool = False  # builder takes `weights` ("imagenet" | "random" | a model file)
    min_image_size: int = 32  # smallest input the architecture accepts
    weights_file: str = ""  # pretrained: the Keras cache file of its ImageNet weights


#: The training settings every model family has a default for.
TRAINING_SETTINGS = ("image_size", "epochs", "batch_size", "learning_rate", "neurons", "dropout", "augment")


def _defaults(*, image_size: int, epochs: int, neurons: int, augment: bool) -> dict[str, Any]:
    """A family's training defaults; batch size, learning rate and dropout are shared."""
    return {
        "image_size": image_size,
        "epochs": epochs,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "neurons": neurons,
        "dropout": 0.5,
        "augment": augment,
    }


# Defaults are chosen to meet the time/accuracy targets on a 2-core CPU;
# docs/training-defaults.md records the reasoning and the measurements.
MODELS: dict[str, ModelSpec] = {
    "lenet": ModelSpec(
        name="lenet",
        title="LeNet-like CNN",
        builder="models.lenet:make_model",
        defaults=_defaults(image_size=128, epochs=15, neurons=128, augment=True),
    ),
    "small_vgg": ModelSpec(
        name="small_vgg",
        title="Small VGG (seed report 2)",
        builder="models.small_vgg:make_model",
        min_image_size=46,  # four valid 3x3 convs + 2x2 pools
        defaults=_defaults(image_size=80, epochs=12, neurons=120, augment=False),
    ),
    "mobilenet_v2": ModelSpec(
        name="mobilenet_v2",
        title="MobileNetV2 (ImageNet, frozen base)",
        builder="models.mobilenet_v2:make_model",
        pretrained=True,
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
        defaults=_defaults(image_size=224, epochs=20, neurons=256, augment=False),
    ),
}


def model_names() -> list[str]:
    """Registered model names, in display order."""
    return list(MODELS)


def get_spec(name: str) -> ModelSpec:
    """The spec for `name`; ValueError naming the valid choices otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


def build_model(
    name: str,
    image_size: int,
    num_classes: int,
    neurons: int,
    dropout: float,
    augment: bool,
    seed: int | None = None,
    weights: str = "imagenet",
) -> keras.Model:
    """Build model `name` for square `image_size` px RGB input (0..255) and `num_classes` classes."""
    spec = get_spec(name)
    kwargs: dict[str, Any] = {
        "neurons": int(neurons),
        "dropout": float(dropout),
        "augment": bool(augment),
        "seed": seed,
    }
    if spec.pretrained:
        kwargs["weights"] = weights
    module, function = spec.builder.split(":")
    builder = getattr(importlib.import_module(module), function)
    return builder((int(image_size), int(image_size), 3), int(num_classes), **kwargs)
