"""app.widgets.draw: every box is numbered as in the results list, and the number tags of
crowded small faces do not cover one another."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.widgets.draw import _overlaps, draw_faces, number_spots
from core.inference.predictor import Face
from core.overlay import class_rgb


def crowd(n: int, side: int = 18, gap: int = 2) -> list[Face]:
    """`n` small faces in a row, almost touching (a crowd far from the camera)."""
    return [
        Face(10 + i * (side + gap), 40, 10 + i * (side + gap) + side, 40 + side, "with_mask", 0.9)
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [1, 5, 12])
def test_number_tags_of_a_crowd_do_not_overlap(n: int) -> None:
    faces = crowd(n)
    boxes = [tuple(round(v) for v in f.xyxy) for f in faces]
    spots = number_spots(boxes, [(24, 14)] * n, 400, 120)  # tags wider than the gap between faces
    assert len(spots) == n
    assert not any(_overlaps(a, b) for i, a in enumerate(spots) for b in spots[i + 1 :])
    assert all(0 <= x1 and 0 <= y1 and x2 <= 400 and y2 <= 120 for x1, y1, x2, y2 in spots)


def test_tags_stay_in_the_picture_at_its_edges() -> None:
    spots = number_spots([(0, 0, 20, 20), (380, 100, 400, 120)], [(12, 14), (12, 14)], 400, 120)
    assert all(0 <= x1 and 0 <= y1 and x2 <= 400 and y2 <= 120 for x1, y1, x2, y2 in spots)


def test_draw_faces_boxes_each_face_in_its_class_colour_without_label_text() -> None:
    img = Image.new("RGB", (400, 300), (128, 128, 128))
    faces = [Face(20, 20, 120, 140, "with_mask", 0.97), Face(200, 40, 300, 160, "without_mask", 0.88)]
    out = np.asarray(draw_faces(img, faces))
    scale = out.shape[1] / 400
    for face in faces:
        x1, y1 = round(face.x1 * scale), round(face.y1 * scale)
        colour = np.array(class_rgb(face.label))
        edge = out[y1 + 30 : y1 + 40, x1 - 1 : x1 + 2].reshape(-1, 3).astype(int)
        assert (np.abs(edge - colour).sum(axis=1) <= 24).any()  # the box's left edge
    # Only short number tags are drawn, not "with_mask 0.97": little of the picture is covered.
    covered = (np.abs(out.astype(int) - 128).sum(axis=2) > 30).mean()
    assert covered < 0.08
