"""core.overlay: one colour per class name everywhere, the caption text and size rule, and faces
boxed and captioned on an RGB frame."""

from __future__ import annotations

import numpy as np
import pytest

from core import overlay
from core.annotation.annotations import NONE
from core.inference import predictor
from core.inference.predictor import FACE, UNCERTAIN, Face
from core.overlay import (
    CLASS_COLOURS,
    FALLBACK,
    caption,
    caption_px,
    caption_size,
    class_colours,
    class_hex,
    class_rgb,
    draw_caption,
    draw_faces,
    draw_hud,
    hex_to_rgb,
)


# ----- the palette -----------------------------------------------------------------------------
def test_the_special_names_are_the_predictors_and_the_annotators() -> None:
    assert (overlay.UNCERTAIN, overlay.FACE) == (predictor.UNCERTAIN, predictor.FACE)
    assert {NONE, UNCERTAIN, FACE} <= set(CLASS_COLOURS)


def test_a_class_has_its_colour_whatever_the_order_of_the_classes() -> None:
    one = class_colours(["with_mask", "without_mask", "mask_worn_incorrectly"])
    other = class_colours(["mask_worn_incorrectly", "without_mask", "with_mask", "cat"])
    assert all(one[name] == other[name] for name in one)
    assert one["with_mask"] == "#2e7d32" and one["without_mask"] == "#c62828"


@pytest.mark.parametrize(
    "classes",
    [
        ("with_mask", "without_mask"),
        ("with_mask", "without_mask", "mask_worn_incorrectly"),
        ("with_mask", "without_mask", "mask_weared_incorrect"),  # the VOC set's names
        ("cloth_mask", "mask_worn_incorrectly", "n95_mask", "no_mask", "surgical_mask"),
    ],
)
def test_the_usual_class_sets_have_distinct_colours(classes: tuple[str, ...]) -> None:
    names = (*classes, UNCERTAIN, FACE, NONE)
    assert len({class_hex(n) for n in names}) == len(names)


def test_fallback_colours_are_distinct_and_not_fixed_ones() -> None:
    assert len(set(FALLBACK)) == len(FALLBACK)
    assert not set(FALLBACK) & set(CLASS_COLOURS.values())


@pytest.mark.parametrize("name", ["cat", "no mask", "Maske ä", ""])
def test_other_names_get_a_stable_fallback(name: str) -> None:
    assert class_hex(name) in FALLBACK
    assert class_hex(name) == class_hex(name)


def test_names_spread_over_the_fallback_colours() -> None:
    assert len({class_hex(f"class {i}") for i in range(40)}) >= len(FALLBACK) - 1


def test_hex_and_rgb_come_from_the_same_table() -> None:
    for name in [*CLASS_COLOURS, "cat"]:
        assert class_rgb(name) == hex_to_rgb(class_hex(name))


@pytest.mark.parametrize(("value", "rgb"), [("#2e7d32", (46, 125, 50)), ("FFFFFF", (255, 255, 255))])
def test_hex_to_rgb(value: str, rgb: tuple[int, int, int]) -> None:
    assert hex_to_rgb(value) == rgb


def test_hex_to_rgb_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        hex_to_rgb("red")


def test_label_colours_keep_uncertain_and_face_apart() -> None:
    for name in ("a", "b", "cat", "with_mask"):
        assert len({class_rgb(name), class_rgb(UNCERTAIN), class_rgb(FACE)}) == 3


# ----- captions --------------------------------------------------------------------------------
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


@pytest.mark.parametrize(
    ("face", "text"),
    [
        (
            Face(0, 0, 9, 9, "with_mask", 0.93, {"with_mask": 0.93, "x": 0.07}),
            "with_mask 0.93",
        ),
        (
            Face(0, 0, 9, 9, UNCERTAIN, 0.51, {"a": 0.51, "b": 0.49}),
            "uncertain (a 0.51)",
        ),
        (Face(0, 0, 9, 9, "maske ä", 0.9), "maske ä 0.90"),
    ],
)
def test_caption(face: Face, text: str) -> None:
    assert caption(face) == text


@pytest.mark.parametrize(("name", "plain"), [("maske ä", "maske a"), ("маска", "????"), ("口罩", "??")])
def test_a_caption_beyond_ascii_is_drawn_as_written(name: str, plain: str) -> None:
    """A class named in any script is drawn with its own letters, not as '?' (Pillow's font)."""
    px = 20
    w, h = caption_size(name, px)
    assert w > 6 and h > 6
    drawn = draw_caption(np.zeros((60, 200, 3), np.uint8), name, (5, 5), px, (200, 0, 0))
    assert (drawn[5 : 5 + h, 5 : 5 + w] == (200, 0, 0)).all(axis=2).mean() > 0.3  # its background
    assert (drawn[5 : 5 + h, 5 : 5 + w].min(axis=2) > 150).any()  # white letters on it
    other = draw_caption(np.zeros((60, 200, 3), np.uint8), plain, (5, 5), px, (200, 0, 0))
    assert not np.array_equal(drawn, other)


def test_a_caption_beyond_ascii_is_clipped_at_the_frame_edge() -> None:
    frame = np.zeros((20, 30, 3), np.uint8)
    draw_caption(frame, "маска", (20, 12), 20, (0, 0, 200))
    assert (frame[12:, 20:] == (0, 0, 200)).all(axis=2).any()
    assert (frame[:12] == 0).all() and (frame[:, :20] == 0).all()


# ----- drawing ---------------------------------------------------------------------------------
def flat(h: int = 120, w: int = 160, value: int = 7) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


def test_faces_are_boxed_in_their_class_colour_in_place() -> None:
    image = flat()
    faces = [Face(20, 40, 60, 100, "with_mask", 0.9), Face(90, 40, 140, 100, UNCERTAIN, 0.5, {"a": 0.5})]
    out = draw_faces(image, faces)
    assert out is image
    assert tuple(image[70, 20]) == class_rgb("with_mask")  # left edges
    assert tuple(image[70, 90]) == class_rgb(UNCERTAIN)
    assert tuple(image[70, 40]) == (7, 7, 7)  # inside the box: the frame
    assert tuple(image[-1, -1]) == (7, 7, 7)


def test_the_caption_sits_above_the_box_or_else_below_it() -> None:
    image = flat()
    draw_faces(image, [Face(20, 50, 100, 110, "with_mask", 0.9)])
    above = image[20:48, 22:100].reshape(-1, 3)
    assert (above == class_rgb("with_mask")).all(axis=1).any()  # its filled background
    assert (above > 230).all(axis=1).any()  # white text
    top = flat(200)
    draw_faces(top, [Face(20, 0, 100, 100, "with_mask", 0.9)])  # no room above: under the box
    assert not (top[3:98, 22:98].reshape(-1, 3) > 230).all(axis=1).any()
    assert (top[100:130, 22:100].reshape(-1, 3) > 230).all(axis=1).any()


def test_boxes_are_scaled_to_the_frame() -> None:
    image = flat(240, 320)
    draw_faces(image, [Face(20, 40, 60, 100, FACE, 0.9)], scale=(2.0, 2.0))
    assert tuple(image[140, 40]) == class_rgb(FACE)
    assert tuple(image[70, 20]) == (7, 7, 7)


def test_small_faces_get_small_captions() -> None:
    def caption_rows(box: float) -> int:
        image = flat(400, 400, 0)
        draw_faces(image, [Face(100, 200, 100 + box, 200 + box, "with_mask", 0.9)])
        background = (image[:198] == class_rgb("with_mask")).all(axis=2).any(axis=1)
        return int(background.sum())  # the caption's height

    assert caption_rows(30) < caption_rows(150)


def test_the_hud_darkens_its_corner_and_writes() -> None:
    image = flat(120, 160, 200)
    draw_hud(image, ["model 9.0 FPS, 12 ms"])
    corner = image[:20, :100]
    assert corner.min() < 200 and (corner > 230).all(axis=2).any()  # dark, with white text
    assert tuple(image[-1, -1]) == (200, 200, 200)
    untouched = flat(120, 160, 200)
    assert draw_hud(untouched, []) is untouched and (untouched == 200).all()
