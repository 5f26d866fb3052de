from __future__ import annotations

import numpy as np
from PIL import Image

from core.imaging import square_crop
from core.tfdata import resize_square


def test_non_square_images_are_squared_like_face_crops_not_stretched() -> None:
    arr = np.zeros((50, 100, 3), np.uint8)
    arr[:, :50] = 255  # left half white, right half black
    out = resize_square(Image.fromarray(arr), 50)
    assert out.shape == (50, 50, 3)
    # The square is the full width (100 px) with the 50 px height grown by edge replication,
    # so the left half stays white and the right half black: nothing was squeezed.
    assert out[25, :20].min() > 200 and out[25, 30:].max() < 50
    expected = np.asarray(
        Image.fromarray(square_crop(arr, (0, 0, 100, 50), None)).resize((50, 50), Image.Resampling.BILINEAR)
    )
    assert np.array_equal(out, expected)


def test_square_images_are_only_resized() -> None:
    arr = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = resize_square(Image.fromarray(arr), 32)
    assert np.array_equal(out, np.asarray(Image.fromarray(arr).resize((32, 32), Image.Resampling.BILINEAR)))
