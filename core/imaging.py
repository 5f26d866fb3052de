"""Safe image loading and the one square-crop function shared by dataset, Predict and Live.

Loading: EXIF orientation applied (boxes live in the upright image), every mode converted to
8-bit RGB (CMYK, 16-bit, palette, RGBA composited on white), a pixel-count limit checked
before decoding, truncated files refused.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps

from core.errors import BoxRejected, ImageLoadError
from core.geometry import XYXY, BoxLike, xyxy_floats

#: Largest image accepted, in pixels (about 12000 x 8300). A 20000 x 20000 PNG is refused.
MAX_PIXELS = 100_000_000
#: Side of the square face crops: what the dataset builder writes and Predict classifies from.
CROP_SIZE = 240
#: File extensions the app accepts as images.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

# Pillow's own bomb check is kept as a second line of defence.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def is_image_name(name: str) -> bool:
    """True when the file name has one of the accepted image extensions."""
    return str(name).lower().endswith(IMAGE_EXTENSIONS)


def _source_name(src: str | os.PathLike[str] | bytes, name: str | None = None) -> str:
    """What an error calls the image: `name` (an upload's file name) when given, else its path."""
    if name:
        return name
    return "<upload>" if isinstance(src, (bytes, bytearray)) else str(src)


def _to_rgb(img: Image.Image) -> Image.Image:
    """`img` as 8-bit RGB: 16-bit scaled by 1/257 (65535 -> 255), alpha composited on white."""
    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img).astype(np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        if img.mode.startswith("I;16") or 255 < hi <= 65535:
            arr = arr / 257.0  # a 16-bit range, whatever this image's own maximum
        elif hi > 65535:
            arr = arr * (255.0 / hi)
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 1.0)
        span = hi - lo or 1.0
        img = Image.fromarray(((arr - lo) / span * 255).astype(np.uint8), mode="L")
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    elif img.mode in ("L", "RGB") and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def load_image(
    src: str | os.PathLike[str] | bytes, *, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> Image.Image:
    """Decode `src` (a path or raw bytes) into an upright 8-bit RGB PIL image.

    Raises ImageLoadError for anything that is not a complete, decodable image within
    `max_pixels`, naming the image by `name` (pass an upload's file name) or its path.
    """
    return load_image_within(src, None, max_pixels=max_pixels, name=name)[0]


def load_image_within(
    src: str | os.PathLike[str] | bytes,
    fit_pixels: int | None,
    *,
    max_pixels: int = MAX_PIXELS,
    name: str | None = None,
) -> tuple[Image.Image, tuple[int, int]]:
    """Like load_image, scaled down to at most `fit_pixels` pixels (None: full size), with the
    (width, height) of the full upright image: a box found in the copy maps back by their ratio.

    A JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) still above `fit_pixels`, so a
    100-megapixel photo never exists in memory at full size; other formats are decoded, then
    scaled. Every byte is still decoded, so a truncated file is refused as by load_image.
    """
    name = _source_name(src, name)
    try:
        fh = io.BytesIO(bytes(src)) if isinstance(src, (bytes, bytearray)) else open(src, "rb")
    except OSError as exc:
        raise ImageLoadError(name, f"cannot open file ({exc.strerror or exc})") from exc
    with fh:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img: Image.Image = Image.open(fh)
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageLoadError(
                        name, f"image is {w}x{h} pixels, more than the {max_pixels:,} allowed"
                    )
                if fit_pixels is not None and w * h > fit_pixels:
                    scale = math.sqrt(fit_pixels / (w * h))
                    img.draft(img.mode, (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
                img.load()
        except ImageLoadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageLoadError(name, f"image is too large ({exc})") from exc
        except Image.UnidentifiedImageError as exc:
            raise ImageLoadError(name, "not an image file Pillow can read") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageLoadError(name, f"image data is damaged or truncated ({exc})") from exc
        upright = (w, h)
        try:
            turned = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            ImageOps.exif_transpose(img, in_place=True)  # no copy when there is nothing to turn
            upright = (h, w) if turned else (w, h)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not make the image unusable
            pass
        try:
            img = _to_rgb(img)
        except (OSError, ValueError) as exc:
            raise ImageLoadError(name, f"cannot convert {img.mode} pixels to RGB ({exc})") from exc
        if fit_pixels is not None and img.width * img.height > fit_pixels:
            scale = math.sqrt(fit_pixels / (img.width * img.height))
            size = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
            img = img.resize(size, Image.Resampling.BOX)
        return img, upright


def load_rgb_array(
    src: str | os.PathLike[str] | bytes, *, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """Like load_image, as an HxWx3 uint8 array."""
    return np.asarray(load_image(src, max_pixels=max_pixels, name=name))


def image_size(src: str | os.PathLike[str] | IO[bytes]) -> tuple[int, int]:
    """(width, height) of the upright image (a path or a seekable binary file), reading only the
    header and EXIF.

    A PNG whose eXIf chunk follows the pixel data is found by walking the chunk headers
    (seeking past the pixel data, never decoding it), so the size matches load_image's.
    """
    try:
        with Image.open(src) as img:
            w, h = img.size
            if img.format == "PNG" and "exif" not in img.info:
                orientation = _png_late_orientation(src)  # getexif() would decode every pixel
            else:
                orientation = img.getexif().get(0x0112, 1)
    except Exception as exc:
        raise ImageLoadError(str(src), f"not a readable image ({exc})") from exc
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _png_late_orientation(src: str | os.PathLike[str] | IO[bytes]) -> int:
    """The EXIF orientation from a PNG's eXIf chunk, found by seeking chunk to chunk (1: none)."""
    import struct

    with open(src, "rb") if isinstance(src, str | os.PathLike) else nullcontext(src) as fh:
        fh.seek(0)
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            return 1
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return 1
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                data = fh.read(length)
                exif = Image.Exif()
                try:
                    exif.load(data if data.startswith(b"Exif") else b"Exif\x00\x00" + data)
                except Exception:  # noqa: BLE001 - a broken EXIF block: load_image ignores it too
                    return 1
                value = exif.get(0x0112, 1)
                return value if isinstance(value, int) else 1
            if kind == b"IEND":
                return 1
            fh.seek(length + 4, os.SEEK_CUR)  # data and CRC


@dataclass(frozen=True)
class SquareRegion(XYXY):
    """The square a box grows into: integer pixel bounds, possibly outside the image."""

    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def side(self) -> int:
        return self.x2 - self.x1


def square_region(box: BoxLike) -> SquareRegion:
    """The square around `box` (x1, y1, x2, y2): the short side grows around the box centre.

    The side is the box's long side rounded to whole pixels (at least 1). The result can
    leave the image; `square_crop` pads what lies outside.
    """
    x1, y1, x2, y2 = xyxy_floats(box)
    if not all(np.isfinite(v) for v in (x1, y1, x2, y2)):
        raise BoxRejected("invalid", f"a box needs four finite numbers, got {(x1, y1, x2, y2)!r}")
    if x2 < x1:
        x1, x2 = x2, x1
    if y2 < y1:
        y1, y2 = y2, y1
    side = max(1, int(round(max(x2 - x1, y2 - y1))))
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left = int(np.floor(cx - side / 2.0 + 0.5))
    top = int(np.floor(cy - side / 2.0 + 0.5))
    return SquareRegion(left, top, left + side, top + side)


def square_crop(
    image: np.ndarray | Image.Image,
    box: BoxLike,
    size: int | None = CROP_SIZE,
) -> np.ndarray:
    """Crop `box` from `image` as a square and resize it to `size` x `size` (None: no resize).

    The square is grown around the box centre, never stretched. Parts of the square that
    fall outside the image are filled by replicating the nearest edge pixels (OpenCV
    BORDER_REPLICATE), so a face at the border keeps plausible colours instead of black bars.
    Returns an HxWx3 uint8 RGB array. This is the one crop used by the dataset builder,
    Predict and Live. Raises BoxRejected for a non-finite box or one far larger than the image.
    """
    import cv2

    if size is not None and size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    arr = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ValueError("cannot crop from an empty image")
    r = square_region(box)
    if r.side > 4 * max(h, w):
        raise BoxRejected("invalid", f"box {xyxy_floats(box)!r} is far larger than the {w}x{h} image")
    if r.x1 >= 0 and r.y1 >= 0 and r.x2 <= w and r.y2 <= h:
        crop = arr[r.y1 : r.y2, r.x1 : r.x2]
    else:
        # Replicate edge pixels: each outside row/column takes the nearest one inside
        # (what OpenCV calls BORDER_REPLICATE), also when the square misses the image.
        rows = np.clip(np.arange(r.y1, r.y2), 0, h - 1)
        cols = np.clip(np.arange(r.x1, r.x2), 0, w - 1)
        crop = arr[rows[:, None], cols[None, :]]
    if size is not None and crop.shape[0] != size:
        interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
        crop = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)
    return np.ascontiguousarray(crop, dtype=np.uint8)


def save_png(array: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Encode an RGB array as PNG and write it atomically."""
    from core.fsutil import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def resize_square(image: Image.Image, size: int) -> np.ndarray:
    """The whole image resized to size x size as uint8 RGB (nothing cropped, nothing padded).

    Crops made by the dataset builder and by Predict are square already, so this only scales
    them. Imported folder datasets may hold non-square images; they are stretched, not padded:
    padding with replicated edges adds smeared borders that real face crops never have (see
    docs/training-defaults.md).
    """
    rgb = image.convert("RGB")
    return np.asarray(rgb.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
