"""MobileNetV2 transfer learning (keras-io recipe): frozen ImageNet base, small trainable head.

The model is  image -> [augmentation] -> scale to [-1, 1] -> base(training=False) -> GAP ->
Dense(neurons) -> Dropout -> Dense softmax. The head layers are named so that `head_model`
can train them alone on cached base features (the fast path) and share their weights with the
full model. `unfreeze_top_blocks` prepares fine-tuning of the top N inverted-residual blocks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
from keras import layers

from models.augmentation import make_augmentation

#: The one weights file the app needs: ImageNet, alpha 1.0, 224 px, no top (standard Keras name).
WEIGHTS_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
WEIGHTS_SIZE = 224
BASE_NAME = "mobilenetv2_base"
FEATURES_LAYER = "pool"
HEAD_LAYERS = ("head_dense", "head_dropout", "predictions")
_LAST_BLOCK = 16


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights were neither in the Keras cache nor downloadable; says which file
    to put into which folder."""

    def __init__(self, message: str, *, file: str = "", folder: str = "") -> None:
        super().__init__(message)
        self.file = file
        self.folder = folder


def keras_cache_dir() -> Path:
    """The folder Keras looks in for application weights ($KERAS_HOME/models)."""
    from keras.src.backend import config as keras_config

    return Path(keras_config.keras_home()).expanduser() / "models"


def _imagenet_reference() -> keras.Model:
    """MobileNetV2 at 224 px with weights="imagenet", i.e. through the Keras cache."""
    try:
        return keras.applications.MobileNetV2(
            input_shape=(WEIGHTS_SIZE, WEIGHTS_SIZE, 3), include_top=False, weights="imagenet"
        )
    except Exception as exc:  # noqa: BLE001 - any fetch/read failure gets the same advice
        folder = keras_cache_dir()
        raise WeightsUnavailable(
            f"MobileNetV2 ImageNet weights are not available ({exc}). Put the file {WEIGHTS_FILE} "
            f"into {folder}{os.sep} (the Keras cache; set KERAS_HOME to move it), allow the download, "
            "or choose random initialisation (weights: random).",
            file=WEIGHTS_FILE,
            folder=str(folder),
        ) from exc


def make_base(image_size: int, weights: str | None = "imagenet") -> keras.Model:
    """The MobileNetV2 feature extractor (no top) for `image_size` px input.

    ImageNet weights are always requested at 224 px (one cached file) and copied into a base
    built for other sizes; the convolution weights do not depend on the input size.
    """
    shape = (image_size, image_size, 3)
    if weights in (None, "random"):
        base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
    elif weights == "imagenet":
        reference = _imagenet_reference()
        if image_size == WEIGHTS_SIZE:
            base = reference
        else:
            base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
            base.set_weights(reference.get_weights())
    else:
        raise ValueError(f"weights must be 'imagenet' or 'random', got {weights!r}")
    base.name = BASE_NAME
    return base


def make_model(
    input_shape: tuple[int, int, int],
    num_classes: int,
    neurons: int = 128,
    dropout: float = 0.5,
    augment: bool = False,
    seed: int | None = None,
    weights: str | None = "imagenet",
) -> keras.Model:
    """MobileNetV2 classifier for 0..255 RGB input with a frozen base."""
    if input_shape[0] != input_shape[1]:
        raise ValueError(f"MobileNetV2 needs a square input, got {input_shape}")
    base = make_base(int(input_shape[0]), weights)
    base.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    x = make_augmentation(seed=seed)(inputs) if augment else inputs
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")(x)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(x)
    x = layers.Dense(neurons, activation="relu", name=HEAD_LAYERS[0])(x)
    x = layers.Dropout(dropout, name=HEAD_LAYERS[1], seed=seed)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=HEAD_LAYERS[2])(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2")


def feature_model(model: keras.Model) -> keras.Model:
    """image -> pooled base features (no augmentation): what the fast path caches."""
    x = model.get_layer("preprocess")(model.input)
    x = model.get_layer(BASE_NAME)(x, training=False)
    return keras.Model(model.input, model.get_layer(FEATURES_LAYER)(x), name="mobilenet_v2_features")


def head_model(model: keras.Model) -> keras.Model:
    """pooled features -> class probabilities, sharing the head layers (and weights) of `model`."""
    width = model.get_layer(FEATURES_LAYER).output.shape[-1]
    inputs = keras.Input(shape=(width,), name="features")
    x = inputs
    for name in HEAD_LAYERS:
        x = model.get_layer(name)(x)
    return keras.Model(inputs, x, name="mobilenet_v2_head")


def _block_index(layer_name: str) -> int:
    match = re.match(r"block_(\d+)_", layer_name)
    if match:
        return int(match.group(1))
    if layer_name.startswith("expanded_conv"):
        return 0
    if layer_name.startswith(("Conv_1", "out_relu")):
        return _LAST_BLOCK + 1
    return -1  # stem: input, Conv1, bn_Conv1, Conv1_relu


def unfreeze_top_blocks(model: keras.Model, blocks: int) -> int:
    """Make the top `blocks` blocks of the base (and its last 1x1 conv) trainable.

    BatchNormalization layers stay frozen (and the base keeps running in inference mode).
    Returns the number of layers made trainable. Recompile the model afterwards.
    """
    if blocks < 0 or blocks > _LAST_BLOCK + 1:
        raise ValueError(f"fine-tune blocks must be between 0 and {_LAST_BLOCK + 1}, got {blocks}")
    base = model.get_layer(BASE_NAME)
    if blocks == 0:
        base.trainable = False
        return 0
    base.trainable = True
    first = _LAST_BLOCK + 1 - blocks
    count = 0
    for layer in base.layers:
        train = _block_index(layer.name) >= first and not isinstance(layer, layers.BatchNormalization)
        layer.trainable = train
        count += int(train and bool(layer.weights))
    return count
