"""One rule for the size of box captions, shared by the annotator's canvas and Predict's images:
a caption is about as wide as its box and at most a third of its height, within a size range,
so the captions of small, close faces stay small and apart."""

from __future__ import annotations

#: Average glyph width of the caption fonts, in em.
CHAR_EM = 0.6


def caption_px(box_w: float, box_h: float, chars: int, lo: int, hi: int) -> int:
    """Font size (px) for a caption of `chars` characters on a box shown `box_w` x `box_h` px."""
    by_height = box_h / 3
    by_width = box_w / (CHAR_EM * max(chars, 1))
    return int(min(hi, max(lo, round(min(by_height, by_width)))))
