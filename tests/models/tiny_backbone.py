"""A second pretrained family, tiny, registered by tests/models/test_registry.py: the one file a
new pretrained family needs (models.registry.Backbone's contract), with an offline weights file
that the test writes.

Base: two 3x3 convolutions ("block_1_conv", "block_2_conv"), the ImageNet stand-in read from
`$KERAS_HOME/models/WEIGHTS_FILE`; head: pooled features -> Dense -> Dropout -> softmax.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import keras
from keras import layers

from models.registry import WeightsUnavailable

WEIGHTS_FILE = "tinynet_no_top.weights.h5"
BASE_NAME = "tinynet_base"
FEATURES_LAYER = "pool"
HEAD_LAYERS = ("head_dense", "head_dropout", "predictions")
BLOCKS = ("block_1_conv", "block_2_conv")
WIDTH = 6


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "models"


def _base(image_size: int, seed: int | None = None) -> keras.Model:
    init = keras.initializers.GlorotUniform(seed=seed)
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Conv2D(4, 3, activation="relu", name=BLOCKS[0], kernel_initializer=init)(inputs)
    x = layers.Conv2D(WIDTH, 3, activation="relu", name=BLOCKS[1], kernel_initializer=init)(x)
    return keras.Model(inputs, x, name=BASE_NAME)


def write_weights(folder: Path, seed: int = 7) -> Path:
    """The family's "ImageNet" weights file, written into `folder` (a Keras cache's models/)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS_FILE
    _base(16, seed).save_weights(path)
    return path


def reference_model(path: str | os.PathLike[str]) -> keras.Model:
    return keras.models.load_model(path, compile=False, safe_mode=True)


def make_base(image_size: int, weights: str | None = "imagenet") -> keras.Model:
    base = _base(image_size)
    if weights in (None, "random"):
        return base
    path = keras_cache_dir() / WEIGHTS_FILE if weights == "imagenet" else Path(str(weights))
    if not path.is_file():
        raise WeightsUnavailable(
            f"TinyNet's weights are not at {path}", file=path.name, folder=str(path.parent)
        )
    if path.name.endswith(".weights.h5"):
        base.load_weights(path)
    else:
        base.set_weights(reference_model(path).get_layer(BASE_NAME).get_weights())
    return base


def make_model(
    input_shape: tuple[int, int, int],
    num_classes: int,
    neurons: int = 8,
    dropout: float = 0.5,
    augment: bool = False,
    seed: int | None = None,
    weights: str | None = "imagenet",
) -> keras.Model:
    base = make_base(int(input_shape[0]), weights)
    base.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="preprocess")(inputs)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(x)
    x = layers.Dense(neurons, activation="relu", name=HEAD_LAYERS[0])(x)
    x = layers.Dropout(dropout, name=HEAD_LAYERS[1], seed=seed)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=HEAD_LAYERS[2])(x)
    return keras.Model(inputs, outputs, name="tinynet")


def feature_model(model: keras.Model) -> keras.Model:
    x = model.get_layer("preprocess")(model.input)
    x = model.get_layer(BASE_NAME)(x, training=False)
    return keras.Model(model.input, model.get_layer(FEATURES_LAYER)(x))


def head_model(model: keras.Model) -> keras.Model:
    inputs = keras.Input(shape=(WIDTH,), name="features")
    x = inputs
    for name in HEAD_LAYERS:
        x = model.get_layer(name)(x)
    return keras.Model(inputs, x)


def base_digest(model: keras.Model) -> str:
    h = hashlib.sha256()
    for w in model.get_layer(BASE_NAME).get_weights():
        h.update(w.tobytes())
    return h.hexdigest()[:16]


def copy_head(model: keras.Model, reference: keras.Model) -> bool:
    pairs = [(model.get_layer(n), reference.get_layer(n)) for n in HEAD_LAYERS]
    if any([w.shape for w in a.get_weights()] != [w.shape for w in b.get_weights()] for a, b in pairs):
        return False
    for mine, theirs in pairs:
        mine.set_weights(theirs.get_weights())
    return True


def unfreeze_top_blocks(model: keras.Model, blocks: int) -> int:
    base = model.get_layer(BASE_NAME)
    base.trainable = blocks > 0
    opened = set(BLOCKS[len(BLOCKS) - blocks :]) if blocks else set()
    for layer in base.layers:
        layer.trainable = layer.name in opened
    return len(opened)
