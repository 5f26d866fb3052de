"""core.inference.tracking: followed faces keep their probabilities for at most `every` - 1 frames,
refreshes are spread over the frames, new or moved faces are always classified."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference.tracking import LabelMemory, check_every

A = (10.0, 10.0, 60.0, 60.0)
B = (100.0, 10.0, 150.0, 60.0)
C = (10.0, 100.0, 60.0, 150.0)


class Counter:
    """A classifier stand-in: probabilities that say which call produced them."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, idx: list[int]) -> np.ndarray:
        self.calls.append(list(idx))
        n = len(self.calls)
        return np.array([[n, i] for i in idx], dtype=np.float32)


def shifted(box: tuple[float, ...], dx: float) -> tuple[float, ...]:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


def test_a_face_follows_its_best_match_and_each_old_face_is_used_once() -> None:
    memory, clf = LabelMemory(every=5), Counter()
    memory.probabilities([A], clf)  # call 1
    rows, n = memory.probabilities([shifted(A, 2.0), A, B], clf)
    # A matches A (IoU 1) before A+2 does; A+2 and B are classified now
    assert clf.calls[-1] == [0, 2] and n == 2
    assert rows[1].tolist() == [1, 0] and rows[0].tolist() == [2, 0]


def test_every_one_classifies_every_face_every_frame() -> None:
    memory, clf = LabelMemory(every=1), Counter()
    for _ in range(4):
        rows, n = memory.probabilities([A, B], clf)
        assert n == 2
    assert clf.calls == [[0, 1]] * 4
    assert rows[0].tolist() == [4, 0]


def test_followed_faces_are_refreshed_in_turn_and_never_older_than_every_minus_one() -> None:
    memory, clf = LabelMemory(every=3), Counter()
    rows, n = memory.probabilities([A, B, C], clf)
    assert n == 3 and clf.calls == [[0, 1, 2]]
    for _ in range(2, 30):
        rows, n = memory.probabilities([A, B, C], clf)
        assert n == 1  # 3 faces / every 3: one refresh per frame, spread, no burst
        for i in range(3):
            assert rows[i][1] == i  # a face keeps its own probabilities, never another's
            assert len(clf.calls) - rows[i][0] <= 2  # one call per frame: at most 2 frames old
    assert sum(len(c) for c in clf.calls) == 3 + 28


@pytest.mark.parametrize("faces", [1, 2, 4, 5])
def test_refreshes_average_one_in_every_per_face(faces: int) -> None:
    boxes = [(10.0 + 60 * k, 10.0, 60.0 + 60 * k, 60.0) for k in range(faces)]
    memory, clf = LabelMemory(every=3), Counter()
    memory.probabilities(boxes, clf)
    counts = [memory.probabilities(boxes, clf)[1] for _ in range(30)]
    assert sum(counts) == pytest.approx(30 * faces / 3, abs=faces)
    assert max(counts) <= -(-faces // 3) + 1  # spread over the frames
    assert faces > 1 or counts[:6] == [0, 0, 1, 0, 0, 1]  # a single face: one frame in three


def test_new_and_moved_faces_are_classified_at_once() -> None:
    memory, clf = LabelMemory(every=5), Counter()
    memory.probabilities([A, B], clf)
    memory.probabilities([A, B], clf)
    rows, n = memory.probabilities([A, B, C], clf)  # C is new
    assert 2 in clf.calls[-1]
    rows, n = memory.probabilities([shifted(A, 30.0), B], clf)  # A moved too far: a new face
    assert 0 in clf.calls[-1]
    assert int(rows[0][0]) == len(clf.calls)


def test_a_small_move_keeps_the_face_and_a_new_model_forgets_it() -> None:
    memory, clf = LabelMemory(every=10), Counter()
    memory.for_model("m1").probabilities([A, B], clf)
    _, n = memory.for_model("m1").probabilities([shifted(A, 3.0), shifted(B, -3.0)], clf)
    assert n == 0  # both followed, nothing due: neither classified
    _, n = memory.for_model("m2").probabilities([A, B], clf)
    assert n == 2


def test_a_failing_classifier_leaves_the_memory_as_it_was() -> None:
    memory, clf = LabelMemory(every=3), Counter()
    memory.probabilities([A, B], clf)

    def boom(idx: list[int]) -> np.ndarray:
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError):
        memory.probabilities([A, B, C], boom)
    _, n = memory.probabilities([A, B], clf)
    assert n == 0  # A and B still followed (nothing due yet), not two new faces
    with pytest.raises(ValueError, match="rows"):
        memory.probabilities([C], lambda idx: np.zeros((0, 2)))


@pytest.mark.parametrize("bad", [0, 31, 2.5, True, "3"])
def test_every_out_of_range_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="every"):
        check_every(bad)
    assert check_every(np.int64(4)) == 4
