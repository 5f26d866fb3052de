"""core.imaging: bad files are refused with ImageLoadError, every mode loads as upright RGB, crops."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.errors import BoxRejected, ImageLoadError
from core.imaging import (
    MAX_PIXELS,
    image_size,
    is_image_name,
    load_image,
    load_image_within,
    load_rgb_array,
    resize_square,
    save_png,
    square_crop,
    square_region,
)
from tests.images import array_bytes


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width x height, all black, made without a big array."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    block = row * 1000
    idat = b"".join(comp.compress(block) for _ in range(height // 1000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- refused input ------------------------------------------------------------------------


def test_a_text_file_named_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not an image\n")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(path)


def test_an_empty_upload_is_refused() -> None:
    with pytest.raises(ImageLoadError) as info:
        load_rgb_array(b"")
    assert info.value.source == "<upload>"


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="cannot open"):
        load_image(tmp_path / "nope.png")


def test_a_truncated_jpeg_is_refused(shared_data: Path) -> None:
    jpeg = next((shared_data / "face_mask_detection_voc" / "images").glob("*.jpg")).read_bytes()
    load_image(jpeg)  # the whole file is fine
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(jpeg[: len(jpeg) // 2])


def test_a_20000x20000_png_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = huge_png(20000, 20000)
    assert len(data) < 1_000_000
    with monkeypatch.context() as m:
        m.setattr(Image, "MAX_IMAGE_PIXELS", None)  # only to probe the header: it is that big
        with Image.open(io.BytesIO(data)) as probe:
            assert probe.size == (20000, 20000)

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageLoadError, match="too large|pixels"):
        load_image(data)


def test_the_pixel_limit_is_a_parameter() -> None:
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    assert load_rgb_array(data, max_pixels=10_000).shape == (100, 100, 3)
    with pytest.raises(ImageLoadError, match="9,999"):
        load_rgb_array(data, max_pixels=9_999)
    assert MAX_PIXELS >= 4000 * 3000  # a phone photo fits


# --- every mode becomes 8-bit RGB -------------------------------------------------------


def test_cmyk_jpeg_loads_as_rgb() -> None:
    img = Image.new("CMYK", (16, 8), (255, 0, 0, 0))  # pure cyan
    img.paste((0, 0, 0, 255), (8, 0, 16, 8))  # right half black
    arr = load_rgb_array(encode(img, "JPEG", quality=95))
    assert arr.dtype == np.uint8 and arr.shape == (8, 16, 3)
    np.testing.assert_allclose(arr[4, 2], (0, 255, 255), atol=12)
    np.testing.assert_allclose(arr[4, 13], (0, 0, 0), atol=12)


@pytest.mark.parametrize(("value16", "value8"), [(0, 0), (4112, 16), (32896, 128), (65535, 255)], ids=str)
def test_16_bit_greyscale_scales_to_8_bit(value16: int, value8: int) -> None:
    arr16 = np.full((6, 5), value16, dtype=np.uint16)
    arr16[0, 0] = 0  # a dark pixel must not change how the others scale
    img = Image.fromarray(arr16)
    assert img.mode == "I;16"
    arr = load_rgb_array(encode(img, "PNG"))
    assert arr.dtype == np.uint8 and arr.shape == (6, 5, 3)
    assert arr[3, 3].tolist() == [value8] * 3
    assert arr[0, 0].tolist() == [0, 0, 0]


def _palette_image() -> Image.Image:
    img = Image.new("P", (4, 2))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # 0 = red, 1 = blue
    img.putdata([0, 0, 1, 1, 0, 0, 1, 1])
    return img


def test_palette_png_loads_as_rgb() -> None:
    arr = load_rgb_array(encode(_palette_image(), "PNG"))
    assert arr.shape == (2, 4, 3) and arr.dtype == np.uint8
    assert arr[0, 0].tolist() == [255, 0, 0]
    assert arr[1, 3].tolist() == [0, 0, 255]


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency_shows_white_where_transparent(fmt: str) -> None:
    arr = load_rgb_array(encode(_palette_image(), fmt, transparency=1))  # blue is transparent
    assert arr[0, 0].tolist() == [255, 0, 0]
    assert arr[0, 3].tolist() == [255, 255, 255]


def test_rgba_is_composited_on_white() -> None:
    img = Image.new("RGBA", (3, 1))
    img.putdata([(255, 0, 0, 255), (0, 0, 255, 0), (0, 0, 0, 128)])
    arr = load_rgb_array(encode(img, "PNG"))
    assert arr.shape == (1, 3, 3)
    assert arr[0, 0].tolist() == [255, 0, 0]
    assert arr[0, 1].tolist() == [255, 255, 255]
    np.testing.assert_allclose(arr[0, 2], (127, 127, 127), atol=1)


def test_greyscale_and_la_load_as_rgb() -> None:
    assert load_rgb_array(encode(Image.new("L", (2, 2), 77), "PNG"))[1, 1].tolist() == [77] * 3
    la = load_rgb_array(encode(Image.new("LA", (2, 2), (0, 0)), "PNG"))
    assert la[0, 0].tolist() == [255, 255, 255]


# --- EXIF orientation --------------------------------------------------------------------

QUADRANTS = {"tl": (255, 0, 0), "tr": (0, 255, 0), "bl": (0, 0, 255), "br": (255, 255, 0)}


def upright_quadrants(w: int = 40, h: int = 60) -> Image.Image:
    """A w x h image whose four quadrants have the colours in QUADRANTS."""
    img = Image.new("RGB", (w, h))
    img.paste(QUADRANTS["tl"], (0, 0, w // 2, h // 2))
    img.paste(QUADRANTS["tr"], (w // 2, 0, w, h // 2))
    img.paste(QUADRANTS["bl"], (0, h // 2, w // 2, h))
    img.paste(QUADRANTS["br"], (w // 2, h // 2, w, h))
    return img


@pytest.mark.parametrize(
    ("orientation", "stored_as"),
    # 6: the camera stored the picture turned 90° counter-clockwise; 8: turned clockwise.
    [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)],
)
def test_exif_rotated_jpeg_loads_upright(tmp_path: Path, orientation: int, stored_as: int) -> None:
    stored = upright_quadrants().transpose(stored_as)
    assert stored.size == (60, 40)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"rot{orientation}.jpg"
    stored.save(path, format="JPEG", quality=95, exif=exif.tobytes())

    assert image_size(path) == (40, 60)
    arr = load_rgb_array(path)
    assert arr.shape == (60, 40, 3)
    for (y, x), key in {(10, 8): "tl", (10, 32): "tr", (50, 8): "bl", (50, 32): "br"}.items():
        np.testing.assert_allclose(arr[y, x], QUADRANTS[key], atol=40, err_msg=key)


def test_image_size_without_exif(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    upright_quadrants(30, 20).save(path)
    assert image_size(path) == (30, 20)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageLoadError):
        image_size(bad)


@pytest.mark.parametrize(("fmt", "late_exif"), [("PNG", False), ("PNG", True), ("JPEG", False)])
def test_image_size_of_bytes_in_memory(fmt: str, late_exif: bool) -> None:
    """An upload or a ZIP member (annotation_io sizes them in memory): a PNG once failed here,
    because the search for a late eXIf chunk could only open a path."""
    buf = io.BytesIO()
    upright_quadrants(30, 20).save(buf, format=fmt)
    data = buf.getvalue()
    if late_exif:  # an eXIf chunk after the pixel data (before IEND), orientation 6
        exif = Image.Exif()
        exif[0x0112] = 6
        body = exif.tobytes()[6:]  # without the "Exif\0\0" header, as PNG stores it
        chunk = struct.pack(">I4s", len(body), b"eXIf") + body + struct.pack(">I", zlib.crc32(b"eXIf" + body))
        data = data[:-12] + chunk + data[-12:]
    assert image_size(io.BytesIO(data)) == ((20, 30) if late_exif else (30, 20))


# --- square crops --------------------------------------------------------------------------

W, H = 200, 150


def coords_image() -> np.ndarray:
    """An HxWx3 image whose pixel (y, x) holds (x, y, 7): any crop tells where it came from."""
    ys, xs = np.mgrid[0:H, 0:W]
    return np.stack([xs, ys, np.full_like(xs, 7)], axis=-1).astype(np.uint8)


def expected_crop(x1: int, y1: int, side: int) -> np.ndarray:
    """The square at (x1, y1) with outside pixels replicated from the nearest edge."""
    xs = np.clip(np.arange(x1, x1 + side), 0, W - 1)
    ys = np.clip(np.arange(y1, y1 + side), 0, H - 1)
    return coords_image()[ys[:, None], xs[None, :]]


@pytest.mark.parametrize(
    ("box", "square"),
    [
        ((80, 50, 120, 90), (80, 50, 40)),  # inside: the box itself
        ((0, 60, 20, 90), (-5, 60, 30)),  # left edge
        ((185, 60, 200, 90), (178, 60, 30)),  # right edge
        ((90, 0, 130, 20), (90, -10, 40)),  # top edge
        ((90, 140, 130, 150), (90, 125, 40)),  # bottom edge
        ((0, 0, 30, 10), (0, -10, 30)),  # top-left corner
        ((170, 0, 200, 30), (170, 0, 30)),  # top-right corner, already square
        ((0, 130, 10, 150), (-5, 130, 20)),  # bottom-left corner
        ((180, 120, 200, 150), (175, 120, 30)),  # bottom-right corner
        ((50, 60, 51, 61), (50, 60, 1)),  # a 1x1 box
        ((-20, -20, 220, 170), (-20, -45, 240)),  # larger than the image
        ((50, 60, 110, 80), (50, 40, 60)),  # wide: grows vertically around the centre
        ((50, 60, 70, 120), (30, 60, 60)),  # tall: grows horizontally
    ],
)
def test_square_crop_geometry(box: tuple[int, int, int, int], square: tuple[int, int, int]) -> None:
    x1, y1, side = square
    region = square_region(box)
    assert (region.x1, region.y1, region.side) == (x1, y1, side)
    crop = square_crop(coords_image(), box, size=None)
    assert crop.shape == (side, side, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, expected_crop(x1, y1, side))


def test_square_outside_the_image_replicates_the_edge_row() -> None:
    crop = square_crop(coords_image(), (-60, 40, -30, 70), size=None)
    np.testing.assert_array_equal(crop, expected_crop(-60, 40, 30))
    assert crop[:, :, 0].max() == 0 and crop[0, 0, 1] == 40 and crop[-1, 0, 1] == 69


@pytest.mark.parametrize("size", [240, 64, 7])
def test_square_crop_resizes_to_size(size: int) -> None:
    crop = square_crop(coords_image(), (30, 30, 90, 110), size=size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8


def test_a_non_square_box_is_not_stretched() -> None:
    img = np.full((H, W, 3), 255, dtype=np.uint8)
    img[60:80, 70:90] = 0  # a 20x20 black square in the middle of a 60x20 box
    crop = square_crop(img, (50, 60, 110, 80), size=240)  # 60 px square -> scale 4
    ys, xs = np.nonzero(crop[:, :, 0] < 128)
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert abs(height - 80) <= 2 and abs(width - 80) <= 2
    assert abs((ys.min() + ys.max()) / 2 - 119.5) <= 2 and abs((xs.min() + xs.max()) / 2 - 119.5) <= 2


def test_square_crop_accepts_pil_grey_and_rgba() -> None:
    grey = Image.new("L", (50, 40), 90)
    assert square_crop(grey, (10, 10, 30, 30), size=None)[5, 5].tolist() == [90] * 3
    rgba = np.zeros((40, 50, 4), dtype=np.uint8)
    assert square_crop(rgba, (10, 10, 30, 30), size=16).shape == (16, 16, 3)


@pytest.mark.parametrize("box", [(0, 0, float("nan"), 10), (0, 0, 10_000, 10_000)])
def test_square_crop_refuses_invalid_boxes(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(BoxRejected):
        square_crop(coords_image(), box)


# --- resize_square: the whole image to a square (what training and Predict feed the model) --


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


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_resize_square_gives_rgb_from_any_mode(mode: str) -> None:
    img = Image.fromarray(np.full((10, 30, 3), 120, np.uint8)).convert(mode)
    out = resize_square(img, 12)
    assert out.shape == (12, 12, 3) and out.dtype == np.uint8


def test_resize_square_can_enlarge() -> None:
    out = resize_square(Image.new("RGB", (4, 2), (10, 200, 30)), 16)
    assert out.shape == (16, 16, 3)
    assert (out == (10, 200, 30)).all(), "one colour stays one colour"


def test_save_png_round_trips(tmp_path: Path) -> None:
    arr = coords_image()
    path = save_png(arr, tmp_path / "sub" / "c.png")
    np.testing.assert_array_equal(load_rgb_array(path), arr)


@pytest.mark.parametrize(
    ("name", "ok"), [("a.JPG", True), ("b.webp", True), ("c.png", True), ("d.gif", False), ("e", False)]
)
def test_is_image_name(name: str, ok: bool) -> None:
    assert is_image_name(name) is ok


def _marked(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A dark `width` x `height` image with one white rectangle at `box` (x1, y1, x2, y2)."""
    arr = np.full((height, width, 3), 40, np.uint8)
    x1, y1, x2, y2 = box
    arr[y1:y2, x1:x2] = 255
    return arr


def _white_box(img: Image.Image) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(np.asarray(img)[:, :, 0] > 150)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


@pytest.mark.parametrize(
    ("fmt", "fit"), [("JPEG", 150_000), ("JPEG", 40_000), ("PNG", 150_000), ("JPEG", None)]
)
def test_load_within_bounds_the_pixels_and_gives_the_full_size(fmt: str, fit: int | None) -> None:
    data = array_bytes(
        _marked(1600, 1000, (400, 200, 800, 600)), fmt, **({"quality": 95} if fmt == "JPEG" else {})
    )
    img, size = load_image_within(data, fit)
    assert size == (1600, 1000)
    if fit is None:
        assert img.size == (1600, 1000)
    else:
        assert img.width * img.height <= fit
        assert abs(img.width / img.height - 1.6) < 0.02
    sx, sy = 1600 / img.width, 1000 / img.height
    x1, y1, x2, y2 = _white_box(img)
    assert max(abs(x1 * sx - 400), abs(y1 * sy - 200), abs(x2 * sx - 800), abs(y2 * sy - 600)) <= 2 * max(
        sx, sy
    )


@pytest.mark.parametrize("orientation", [6, 8])
def test_load_within_a_turned_jpeg_gives_the_upright_size(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Image.new("RGB", (1200, 800), (10, 200, 10))
    data = encode(stored, "JPEG", exif=exif.tobytes())
    img, size = load_image_within(data, 20_000)
    assert size == (800, 1200) and img.height > img.width
    assert img.width * img.height <= 20_000


def test_load_within_still_refuses_a_truncated_jpeg() -> None:
    data = array_bytes(_marked(1600, 1000, (400, 200, 800, 600)), "JPEG")
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image_within(data[: len(data) // 2], 40_000, name="half.jpg")
