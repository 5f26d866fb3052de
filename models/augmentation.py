"""Data augmentation as Keras preprocessing layers, shared by training and the dataset preview.

Inside a model the layers act only during `fit`: `predict`/`evaluate` see the unchanged image.
Called directly (the dataset page's preview), pass `training=True` explicitly.
"""

from __future__ import annotations

import keras
from keras import layers

#: Default strengths. Rotation, zoom and translation are fractions (rotation: of a full turn,
#: 0.05 = +/-18 degrees; zoom/translation: of the image side); contrast is a factor range.
DEFAULTS: dict[str, float | str] = {
    "flip": "horizontal",
    "rotation": 0.05,
    "zoom": 0.1,
    "translation": 0.1,
    "contrast": 0.2,
}


def make_augmentation(
    flip: str | None = "horizontal",
    rotation: float = 0.05,
    zoom: float = 0.1,
    translation: float = 0.1,
    contrast: float = 0.2,
    seed: int | None = None,
    name: str = "augmentation",
) -> keras.Sequential:
    """A keras.Sequential of RandomFlip/Rotation/Zoom/Translation/Contrast for 0..255 RGB input.

    `flip` is "horizontal", "vertical", "horizontal_and_vertical" or None (no flip); a
    strength of 0 leaves that layer out. Faces are upright, so the default flip is horizontal
    only and the rotation small. `seed` makes the random draws repeatable.
    """
    stack: list[layers.Layer] = []
    if flip:
        stack.append(layers.RandomFlip(flip, seed=seed))
    if rotation:
        stack.append(layers.RandomRotation(rotation, fill_mode="reflect", seed=seed))
    if zoom:
        stack.append(layers.RandomZoom(zoom, fill_mode="reflect", seed=seed))
    if translation:
        stack.append(layers.RandomTranslation(translation, translation, fill_mode="reflect", seed=seed))
    if contrast:
        stack.append(layers.RandomContrast(contrast, value_range=(0, 255), seed=seed))
    return keras.Sequential(stack, name=name)
