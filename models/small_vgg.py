"""The small VGG of seed report 2, Listing 4, layer for layer."""

from __future__ import annotations

import keras
from keras import layers

from models.augmentation import make_augmentation


def make_model(
    input_shape: tuple[int, int, int],
    num_classes: int,
    neurons: int = 120,
    dropout: float = 0.5,
    augment: bool = False,
    seed: int | None = None,
) -> keras.Model:
    """Conv2D 64, 64, 128, 128 (3x3, relu), each followed by MaxPool 2x2; Flatten; Dropout;
    Dense(neurons, relu); Dense softmax. Defaults (120 neurons, dropout 0.5) are the listing's.

    Input is 0..255 RGB; a Rescaling layer (not in the listing) maps it to 0..1.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = make_augmentation(seed=seed)(inputs) if augment else inputs
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    for i, filters in enumerate((64, 64, 128, 128), start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout", seed=seed)(x)
    x = layers.Dense(neurons, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="small_vgg")
