"""Model families by name: builders and their default training settings."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras


class WeightsUnavailable(RuntimeError):
    """A pretrained family's base cannot be read: neither its offline weights file nor a model file
    to copy the base from. Says which file to put into which folder."""

    def __init__(self, message: str, *, file: str = "", folder: str = "") -> None:
        super().__init__(message)
        self.file = file
        self.folder = folder


@dataclass(frozen=True)
class Backbone:
    """A pretrained family's frozen base: what core asks instead of testing the family's name.

    `module` ("models.<family>") is imported on first use (listing models and validating configs
    never imports TensorFlow). It provides:

    - `make_model(input_shape, num_classes, neurons, dropout, augment, seed, weights)`, the
      builder, and `make_base(image_size, weights)`: `weights` is "imagenet" (the offline file
      `weights_file` in the Keras cache, never downloaded), "random", or the path of a .h5 weights
      file or of a .keras classifier of the family whose base to copy; `WeightsUnavailable`
      (this module's) when none reads.
    - `feature_model(model)` (image -> pooled base features, `feature_width` wide: what the
      fast path caches), `head_model(model)` (features -> probabilities, sharing the head's
      weights), `base_digest(model)` (names the base's weights), `copy_head(model, reference)`,
      `reference_model(path)` (a saved classifier, loaded once), and
      `unfreeze_top_blocks(model, n)` (fine-tuning: the top n of `blocks` blocks).
    """

    module: str
    label: str  # the family in plain words ("MobileNetV2")
    weights_file: str  # the offline ImageNet weights, a file name in $KERAS_HOME/models/
    feature_width: int  # the width of the pooled base features
    blocks: int  # how many top blocks fine-tuning can unfreeze (0..blocks)
    cache_tag: str = ""  # names the offline weights in feature-cache files; "" = weights_file's stem
    fast_path: bool = True  # a frozen base without augmentation trains its head on cached features
    #: The recipe for `fine_tune_min_classes` classes or more (core.runs.recipes).
    fine_tune_defaults: dict[str, Any] = field(
        default_factory=lambda: {
            "fine_tune_blocks": 0,
            "fine_tune_epochs": 0,
            "fine_tune_learning_rate": 1e-4,
        }
    )
    fine_tune_min_classes: int = 3

    def _module(self) -> Any:
        return importlib.import_module(self.module)

    def make_base(self, image_size: int, weights: str = "imagenet") -> keras.Model:
        """The frozen base for `image_size` px input, from `weights` (see the class docstring)."""
        return self._module().make_base(int(image_size), weights)

    def feature_model(self, model: keras.Model) -> keras.Model:
        return self._module().feature_model(model)

    def head_model(self, model: keras.Model) -> keras.Model:
        return self._module().head_model(model)

    def base_digest(self, model: keras.Model) -> str:
        return str(self._module().base_digest(model))

    def copy_head(self, model: keras.Model, reference: keras.Model) -> bool:
        return bool(self._module().copy_head(model, reference))

    def reference_model(self, path: str) -> keras.Model:
        return self._module().reference_model(path)

    def fine_tune(self, model: keras.Model, blocks: int) -> int:
        """Unfreeze the top `blocks` blocks of `model`'s base; returns the layers made trainable."""
        return int(self._module().unfreeze_top_blocks(model, int(blocks)))

    @property
    def tag(self) -> str:
        return self.cache_tag or self.weights_file.split(".")[0]


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
    min_image_size: int = 32  # smallest input the architecture accepts
    images_per_s: float = 50.0  # rough training throughput at 96 px for estimates before any run
    #: A pretrained family's base (its builder takes `weights`); None: trained from scratch.
    backbone: Backbone | None = None

    @property
    def pretrained(self) -> bool:
        return self.backbone is not None


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
        images_per_s=400.0,
        defaults=_defaults(image_size=128, epochs=15, neurons=128, augment=True),
    ),
    "small_vgg": ModelSpec(
        name="small_vgg",
        title="Small VGG (seed report 2)",
        builder="models.small_vgg:make_model",
        min_image_size=46,  # four valid 3x3 convs + 2x2 pools
        images_per_s=60.0,
        defaults=_defaults(image_size=80, epochs=12, neurons=120, augment=False),
    ),
    "mobilenet_v2": ModelSpec(
        name="mobilenet_v2",
        title="MobileNetV2 (ImageNet, frozen base)",
        builder="models.mobilenet_v2:make_model",
        images_per_s=120.0,  # frozen-feature fast path: per feature pass
        backbone=Backbone(
            module="models.mobilenet_v2",
            label="MobileNetV2",
            weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            cache_tag="1.0_224_no_top",
            feature_width=1280,
            blocks=17,
            # measured for 3 classes or more (docs/training-defaults.md)
            fine_tune_defaults={
                "fine_tune_blocks": 6,
                "fine_tune_epochs": 8,
                "fine_tune_learning_rate": 1e-4,
            },
        ),
        defaults=_defaults(image_size=224, epochs=20, neurons=256, augment=False),
    ),
}


#: The model a run config names unless it says otherwise; also the review queue's feature base.
DEFAULT_MODEL = "mobilenet_v2"


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model family from outside this file (a plug-in, a test); ValueError when the name is taken."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is already registered")
    MODELS[spec.name] = spec
    return spec


def pretrained_names() -> list[str]:
    """The registered families with a pretrained backbone, in display order."""
    return [name for name, spec in MODELS.items() if spec.backbone is not None]


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
    if spec.backbone is not None:
        kwargs["weights"] = weights
    module, function = spec.builder.split(":")
    builder = getattr(importlib.import_module(module), function)
    return builder((int(image_size), int(image_size), 3), int(num_classes), **kwargs)
