"""One palette and one overlay for every picture of the app.

The palette gives a class its colour by name, so a class looks the same on the annotator's
canvas, on Predict's and Live's pictures and in the charts, whatever order the classes come in:
fixed colours for the usual classes, a stable pick from FALLBACK for any other name. The
overlay boxes and captions faces on an RGB frame (OpenCV, in place; a caption beyond ASCII is
drawn with Pillow, so a class named in any script stays readable), with one caption size
rule (`caption_px`, also the canvas's) so small, close faces get small captions that stay apart.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]

#: The label of a face under the threshold and of a face no model classified; they equal
#: core.inference.predictor.UNCERTAIN / FACE (a loose module imports no package; the tests check).
UNCERTAIN = "uncertain"
FACE = "face"
#: Class names with a fixed colour ("None" is core.annotation.annotations.NONE): those of the
#: usual face-mask datasets; names meaning the same share a colour.
CLASS_COLOURS: Mapping[str, str] = {
    "None": "#9e9e9e",  # grey: no category yet
    "with_mask": "#2e7d32",  # green
    "without_mask": "#c62828",  # red
    "no_mask": "#c62828",
    "mask_worn_incorrectly": "#6a1b9a",  # purple
    "mask_weared_incorrect": "#6a1b9a",
    "cloth_mask": "#558b2f",  # light green
    "n95_mask": "#00838f",  # teal
    "surgical_mask": "#283593",  # indigo
    UNCERTAIN: "#f9a825",  # amber: look again
    FACE: "#1565c0",  # blue: found, not classified
}
#: Any other class name gets one of these, chosen by a hash of the name (stable across runs;
#: two such names can share one).
FALLBACK: tuple[str, ...] = (
    "#ad1457",
    "#4e342e",
    "#ef6c00",
    "#827717",
    "#0277bd",
    "#00695c",
    "#4527a0",
    "#37474f",
)


def hex_to_rgb(colour: str) -> RGB:
    """'#2e7d32' -> (46, 125, 50); ValueError otherwise."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"a colour must look like #rrggbb, got {colour!r}")
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def class_hex(name: str) -> str:
    """The colour of class `name` as '#rrggbb'."""
    fixed = CLASS_COLOURS.get(name)
    if fixed is not None:
        return fixed
    return FALLBACK[zlib.crc32(name.encode("utf-8")) % len(FALLBACK)]


def class_rgb(name: str) -> RGB:
    """The colour of class `name` as (r, g, b)."""
    return hex_to_rgb(class_hex(name))


def class_colours(names: Iterable[str]) -> dict[str, str]:
    """{name: '#rrggbb'} for these class names (a Plotly color_discrete_map)."""
    return {name: class_hex(name) for name in names}


# ----- captions ------------------------------------------------------------------------------
#: Average glyph width of the caption fonts, in em.
CHAR_EM = 0.6


def caption_px(box_w: float, box_h: float, chars: int, lo: int, hi: int) -> int:
    """Font size (px) for a caption of `chars` characters on a box shown `box_w` x `box_h` px:
    about as wide as the box and at most a third of its height, within lo..hi."""
    by_height = box_h / 3
    by_width = box_w / (CHAR_EM * max(chars, 1))
    return int(min(hi, max(lo, round(min(by_height, by_width)))))


class Captioned(Protocol):
    """What the overlay needs of a face (core.inference.predictor.Face has it)."""

    @property
    def xyxy(self) -> tuple[float, float, float, float]: ...
    @property
    def label(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def top_label(self) -> str: ...


def caption(face: Captioned) -> str:
    """The text on a box: label and confidence (the detector score when no model ran)."""
    if face.label == UNCERTAIN:
        return f"uncertain ({face.top_label} {face.confidence:.2f})"
    return f"{face.label} {face.confidence:.2f}"


# ----- drawing -------------------------------------------------------------------------------
FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Pixel height of FONT at scale 1 (with its baseline).
HERSHEY_PX = 22
#: Captions are at least this many px high.
CAPTION_MIN_PX = 10


def line_width(long_side: int) -> int:
    """Box line width (px) on a picture whose longer side is `long_side` px."""
    return max(2, round(long_side / 300))


def caption_max_px(long_side: int) -> int:
    """The largest caption (px) on a picture whose longer side is `long_side` px."""
    return max(11, round(long_side / 45))


def draw_faces(
    image: np.ndarray, faces: Iterable[Captioned], scale: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Box and caption each face on `image` (HxWx3 uint8 RGB) in place, in its class colour;
    boxes are multiplied by `scale` (x, y). Returns `image`."""
    h, w = image.shape[:2]
    thick = line_width(max(h, w))
    largest = caption_max_px(max(h, w))
    for face in faces:
        colour = class_rgb(face.label)
        fx1, fy1, fx2, fy2 = face.xyxy
        x1, y1 = round(fx1 * scale[0]), round(fy1 * scale[1])
        x2, y2 = round(fx2 * scale[0]), round(fy2 * scale[1])
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thick)
        text = caption(face)
        px = caption_px(x2 - x1, y2 - y1, len(text), CAPTION_MIN_PX, largest)
        tw, box_h = caption_size(text, px)
        ty = y1 - box_h if y1 - box_h >= 0 else min(y2, h - box_h)
        draw_caption(image, text, (min(max(x1, 0), max(w - tw, 0)), ty), px, colour)
    return image


def caption_size(text: str, px: int) -> tuple[int, int]:
    """(width, height) in px of `text` captioned at `px` by draw_caption, its background included."""
    if not text.isascii():
        left, top, right, bottom = unicode_font(px).getbbox(text)
        return int(right - left) + 6, int(bottom - top) + 6
    (tw, th), base = cv2.getTextSize(text, FONT, px / HERSHEY_PX, 1)
    return tw + 6, th + base + 4


@functools.lru_cache(maxsize=32)
def unicode_font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The font for captions OpenCV's ASCII-only font cannot draw (a class named in any script):
    DejaVu Sans where the system has it, else Pillow's own scalable font (Latin)."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", px)
    except OSError:
        return ImageFont.load_default(size=px)


def draw_caption(
    image: np.ndarray, text: str, xy: tuple[int, int], px: int, background: RGB, colour: RGB = (255, 255, 255)
) -> np.ndarray:
    """`text` at `px` px in `colour` on a filled `background` box whose top-left corner is `xy` (in place)."""
    x, y = xy
    if not text.isascii():
        return _draw_unicode_caption(image, text, (x, y), px, background, colour)
    (tw, th), base = cv2.getTextSize(text, FONT, px / HERSHEY_PX, 1)
    cv2.rectangle(image, (x, y), (x + tw + 6, y + th + base + 4), background, cv2.FILLED)
    cv2.putText(image, text, (x + 3, y + th + 2), FONT, px / HERSHEY_PX, colour, 1, cv2.LINE_AA)
    return image


def draw_hud(image: np.ndarray, lines: Sequence[str], warn: bool = False) -> np.ndarray:
    """A dark, half-transparent box with `lines` in the top-left corner (in place)."""
    if not lines:
        return image
    h, w = image.shape[:2]
    font_scale = max(0.42, max(h, w) / 1400)
    sizes = [cv2.getTextSize(t, FONT, font_scale, 1) for t in lines]
    line_h = max(s[0][1] + s[1] for s in sizes) + 6
    box_w = min(w, max(s[0][0] for s in sizes) + 12)
    box_h = min(h, line_h * len(lines) + 6)
    region = image[:box_h, :box_w]
    region[:] = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)
    colour = (255, 200, 60) if warn else (255, 255, 255)
    for i, text in enumerate(lines):
        cv2.putText(image, text, (6, 4 + line_h * (i + 1) - 6), FONT, font_scale, colour, 1, cv2.LINE_AA)
    return image


def _draw_unicode_caption(
    image: np.ndarray, text: str, xy: tuple[int, int], px: int, background: RGB, colour: RGB
) -> np.ndarray:
    """draw_caption for text beyond ASCII, drawn with Pillow on the caption's own patch."""
    w, h = caption_size(text, px)
    x, y = xy
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, image.shape[1]), min(y + h, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return image
    patch = Image.new("RGB", (w, h), background)
    font = unicode_font(px)
    left, top, _, _ = font.getbbox(text)
    ImageDraw.Draw(patch).text((3 - left, 3 - top), text, fill=colour, font=font)
    image[y0:y1, x0:x1] = np.asarray(patch)[y0 - y : y1 - y, x0 - x : x1 - x]
    return image
