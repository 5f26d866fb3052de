from __future__ import annotations

import pytest

from core.captions import caption_px


@pytest.mark.parametrize(
    ("w", "h", "chars", "expected"),
    [
        (300, 300, 9, 14),  # a big face: the largest size
        (54, 90, 9, 10),  # "with_mask" on a 54 px wide face: as wide as the box
        (200, 18, 4, 9),  # a flat box: a third of its height, at least the smallest size
        (10, 10, 20, 9),
    ],
)
def test_caption_size_fits_the_box_within_the_range(w: float, h: float, chars: int, expected: int) -> None:
    assert caption_px(w, h, chars, 9, 14) == expected
