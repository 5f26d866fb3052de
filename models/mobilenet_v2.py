"""MobileNetV2 transfer learning (keras-io recipe): frozen ImageNet base, small trainable head.

The model is  image -> [augmentation] -> scale to [-1, 1] -> base(training=False) -> GAP ->
Dense(neurons) -> Dropout -> Dense softmax. The head layers are named so that `head_model`
can train them alone on cached base features (the fast path) and share their weights with the
full model. `unfreeze_top_blocks` prepares fine-tuning of the top N inverted-residual blocks.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import keras
from keras import layers

from models.augmentation import make_augmentation
from models.registry import MODELS, WeightsUnavailable

#: This family's registry entry (models.registry.Backbone: the contract core uses).
BACKBONE = MODELS["mobilenet_v2"].backbone
assert BACKBONE is not None
#: The Keras cache file of the ImageNet weights (alpha 1.0, 224 px, no top; standard Keras name).
WEIGHTS_FILE = BACKBONE.weights_file
WEIGHTS_SIZE = 224
BASE_NAME = "mobilenetv2_base"
FEATURES_LAYER = "pool"
HEAD_LAYERS = ("head_dense", "head_dropout", "predictions")
_LAST_BLOCK = 16


def keras_cache_dir() -> Path:
    """The folder Keras looks in for application weights ($KERAS_HOME/models)."""
    from keras.src.backend import config as keras_config

    return Path(keras_config.keras_home()).expanduser() / "models"


def cached_weights_file() -> Path | None:
    """The ImageNet weights file in the Keras cache, or None: nothing is ever downloaded."""
    path = keras_cache_dir() / WEIGHTS_FILE
    return path if path.is_file() else None


@functools.lru_cache(maxsize=4)
def _load_reference(path: str, mtime_ns: int) -> keras.Model:
    return keras.models.load_model(path, compile=False, safe_mode=True)


def reference_model(path: str | os.PathLike[str]) -> keras.Model:
    """A saved MobileNetV2 classifier (e.g. the shipped starter), loaded once per file version.
    Read its layers; never train it (it is shared)."""
    p = Path(path)
    return _load_reference(str(p.resolve()), p.stat().st_mtime_ns)


def _reference_base(weights: str) -> list:  # -> list of numpy arrays (the base's weights)
    """The ImageNet base's weights: "imagenet" reads the Keras cache file (never downloads), a
    .h5 path that file format elsewhere, and the path of a .keras classifier built by
    `make_model` that model's base (the shipped starter holds the frozen ImageNet base)."""
    if weights == "imagenet":
        cached = cached_weights_file()
        if cached is None:
            folder = keras_cache_dir()
            raise WeightsUnavailable(
                f"MobileNetV2's ImageNet weights are not in the Keras cache: put the file {WEIGHTS_FILE} "
                f"into {folder}{os.sep} (set KERAS_HOME to move it). Nothing is downloaded.",
                file=WEIGHTS_FILE,
                folder=str(folder),
            )
        weights = str(cached)
    path = Path(weights)
    try:
        if path.suffix == ".h5":
            reference = keras.applications.MobileNetV2(
                input_shape=(WEIGHTS_SIZE, WEIGHTS_SIZE, 3), include_top=False, weights=str(path)
            )
            return reference.get_weights()
        return reference_model(path).get_layer(BASE_NAME).get_weights()
    except (OSError, ValueError) as exc:
        raise WeightsUnavailable(
            f"the MobileNetV2 base could not be read from {path.name} ({exc})", file=path.name
        ) from exc


def make_base(image_size: int, weights: str | None = "imagenet") -> keras.Model:
    """The MobileNetV2 feature extractor (no top) for `image_size` px input.

    `weights`: "imagenet" (the Keras cache file), "random", or the path of a .keras model built
    by `make_model` whose base to copy (the shipped starter). The convolution weights do not
    depend on the input size, so one 224 px source serves every size.
    """
    shape = (image_size, image_size, 3)
    if (
        weights is not None
        and weights != "random"
        and weights != "imagenet"
        and not str(weights).endswith((".keras", ".h5"))
    ):
        raise ValueError(f"weights must be 'imagenet', 'random' or a .keras model path, got {weights!r}")
    base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
    if weights not in (None, "random"):
        base.set_weights(_reference_base(str(weights)))
    base.name = BASE_NAME
    return base


def base_digest(model: keras.Model) -> str:
    """16 hex digits of the sha256 of the base's weights: names what its features were computed
    with (the same ImageNet base from the Keras cache or the starter gives the same digest)."""
    import hashlib

    h = hashlib.sha256()
    for w in model.get_layer(BASE_NAME).get_weights():
        h.update(w.tobytes())
    return h.hexdigest()[:16]


def copy_head(model: keras.Model, reference: keras.Model) -> bool:
    """Copy the head layers' weights of `reference` into `model` when every shape matches (same
    width and classes); returns whether it did."""
    pairs = [(model.get_layer(n), reference.get_layer(n)) for n in HEAD_LAYERS]
    for mine, theirs in pairs:
        if [w.shape for w in mine.get_weights()] != [w.shape for w in theirs.get_weights()]:
            return False
    for mine, theirs in pairs:
        mine.set_weights(theirs.get_weights())
    return True


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
