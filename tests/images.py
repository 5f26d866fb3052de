"""Small encoded images and zips for tests, made on the fly."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image


def image_bytes(
    size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 10, 10), fmt: str = "PNG"
) -> bytes:
    """A plain `size` (width, height) RGB image of one colour, encoded as `fmt` (a Pillow format)."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


def array_bytes(array: np.ndarray, fmt: str = "PNG", **kwargs: object) -> bytes:
    """An RGB (or grey) uint8 array encoded as `fmt` (a Pillow format; `kwargs` go to `save`)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def raw_zip(members: dict[str, bytes]) -> bytes:
    """A deflated zip of `members` (name -> content) written without any checks on the names,
    as an attacker would (`core.annotation.formats.archive.zip_files` refuses bad names)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()
