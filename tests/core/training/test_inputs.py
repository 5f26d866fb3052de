from __future__ import annotations

import numpy as np
from PIL import Image

from core.imaging import resize_square


def test_the_whole_image_is_resized_nothing_cropped_or_padded() -> None:
    arr = np.zeros((50, 100, 3), np.uint8)
    arr[:, :10] = 255  # a white band at the left edge must survive
    arr[:, 90:] = (0, 0, 255)  # a blue band at the right edge too
    out = resize_square(Image.fromarray(arr), 40)
    assert out.shape == (40, 40, 3) and out.dtype == np.uint8
    assert out[:, 0].min() > 200, "left edge kept"
    assert out[:, -1, 2].min() > 200 and out[:, -1, 0].max() < 50, "right edge kept"
    assert out[20, 20].max() < 30, "the middle stays dark: no padding or smearing"


def test_square_images_are_only_resized() -> None:
    arr = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = resize_square(Image.fromarray(arr), 32)
    assert np.array_equal(out, np.asarray(Image.fromarray(arr).resize((32, 32), Image.Resampling.BILINEAR)))
