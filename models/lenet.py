"""LeNet-like CNN (seed report 1): two conv-pool stages (LeNet-5 filters), one hidden Dense layer."""

from __future__ import annotations

import keras
from keras import layers

from models.augmentation import make_augmentation


def make_model(
    input_shape: tuple[int, int, int],
    num_classes: int,
    neurons: int = 128,
    dropout: float = 0.0,
    augment: bool = False,
    seed: int | None = None,
) -> keras.Model:
    """LeNet-like classifier for 0..255 RGB input:
    Conv 6 (5x5) - MaxPool - Conv 16 (5x5) - MaxPool - Flatten - Dense(neurons, relu) - softmax.

    LeNet-5's filter counts keep it cheap at any input size. `dropout` (default 0: none) is
    applied after the hidden Dense layer.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = make_augmentation(seed=seed)(inputs) if augment else inputs
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    x = layers.Conv2D(6, 5, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(neurons, activation="relu", name="dense")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout", seed=seed)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="lenet")
