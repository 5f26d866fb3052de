"""Scene-like degradations of training faces: what a face from a photo or a webcam looks like
after detection and cropping, applied to sharp dataset crops.

- `lowres`: down to a random 12-48 px square, then back up (small, far faces);
- `blur`: Gaussian blur, radius 0.6-2.4 px at 224 px (focus and motion);
- `jpeg`: re-encoded at quality 15-60 (compressed photos and video frames).

`degraded_copies` adds copies of the training images, each with one degradation. The random
draw is seeded by the image's key (its sha256), the copy number and the run seed, never by its
position, so a copy is the same in every dataset version that holds the image (core.training.features
caches base features by these keys).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageFilter

from core.errors import ConfigError

KINDS = ("lowres", "blur", "jpeg")
LOWRES_PX = (12, 48)
BLUR_RADIUS = (0.6, 2.4)  # at 224 px, scaled with the image size
JPEG_QUALITY = (15, 60)


def parse_kinds(text: str | None) -> tuple[str, ...]:
    """ "lowres+blur" -> ("lowres", "blur"); "" or None -> (); ConfigError naming an unknown kind."""
    kinds = tuple(k.strip() for k in str(text or "").replace(",", "+").split("+") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"degrade={text!r} is invalid: unknown {', '.join(unknown)}; use {'+'.join(KINDS)}")
    return tuple(dict.fromkeys(kinds))


def _rng(key: str, copy: int, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{key}:{copy}:{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def degrade(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(degraded HxWx3 uint8 image, a tag naming the parameters drawn)."""
    size = image.shape[0]
    pil = Image.fromarray(image)
    if kind == "lowres":
        px = int(rng.integers(LOWRES_PX[0], LOWRES_PX[1] + 1))
        small = pil.resize((px, px), Image.Resampling.BILINEAR, reducing_gap=2.0)
        out = small.resize((image.shape[1], size), Image.Resampling.BILINEAR)
        return np.asarray(out, np.uint8), f"lowres{px}"
    if kind == "blur":
        radius = float(rng.uniform(*BLUR_RADIUS)) * size / 224.0
        return np.asarray(pil.filter(ImageFilter.GaussianBlur(radius)), np.uint8), f"blur{radius:.2f}"
    if kind == "jpeg":
        q = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=q)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.uint8), f"jpeg{q}"
    raise ConfigError(f"unknown degradation {kind!r}; use one of {', '.join(KINDS)}")


def degraded_copies(
    x: np.ndarray, y: np.ndarray, keys: list[str], kinds: tuple[str, ...], copies: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`copies` degraded copies of every image, appended after the originals: (x, y, keys)."""
    if not kinds or copies <= 0 or len(x) == 0:
        return x, y, keys
    extra, extra_y, extra_keys = [], [], []
    for c in range(copies):
        for img, label, key in zip(x, y, keys, strict=True):
            rng = _rng(key, c, seed)
            kind = kinds[int(rng.integers(len(kinds)))]
            out, tag = degrade(img, kind, rng)
            extra.append(out)
            extra_y.append(label)
            extra_keys.append(f"{key}:{tag}:{c}:{seed}")
    return (
        np.concatenate([x, np.stack(extra)]),
        np.concatenate([y, np.asarray(extra_y, dtype=y.dtype)]),
        list(keys) + extra_keys,
    )
