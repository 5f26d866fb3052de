"""The memory file: the starter's photo faces as features, and its held-out check set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.runs.memory import MEMORY_FILE, Memory, load_memory, misfit, save_memory
from tests.models.synth import CLASSES


def memory(n: int = 6, labels: tuple[str, ...] = CLASSES, base: str = "b" * 16, size: int = 32) -> Memory:
    rng = np.random.default_rng(0)
    return Memory(rng.normal(size=(n, 4)).astype(np.float32), np.arange(n) % 2, labels, base, size)


def test_a_memory_round_trips_as_float16(tmp_path: Path) -> None:
    m = memory()
    save_memory(tmp_path / MEMORY_FILE, m)
    back = load_memory(tmp_path / MEMORY_FILE)
    assert back is not None and back.labels == CLASSES and back.base == m.base and back.image_size == 32
    np.testing.assert_allclose(back.feats, m.feats, atol=1e-2)
    np.testing.assert_array_equal(back.y, m.y)
    assert back.check_feats.shape[0] == 0 and back.check_y.shape == (0,)


def test_the_check_set_round_trips(tmp_path: Path) -> None:
    m = Memory(
        np.zeros((0, 4), np.float32),
        np.zeros(0, np.int64),
        CLASSES,
        "b",
        32,
        np.ones((3, 4), np.float32),
        np.array([0, 1, 1]),
    )
    save_memory(tmp_path / MEMORY_FILE, m)
    back = load_memory(tmp_path / MEMORY_FILE)
    assert back is not None and len(back) == 0 and list(back.check_y) == [0, 1, 1]
    np.testing.assert_allclose(back.check_feats, 1.0)


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_a_missing_or_damaged_memory_is_none(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / MEMORY_FILE
    if content is not None:
        path.write_bytes(content)
    assert load_memory(path) is None


def test_labels_out_of_range_make_a_memory_unusable(tmp_path: Path) -> None:
    bad = Memory(np.zeros((2, 4), np.float32), np.array([0, 5]), CLASSES, "b", 32)
    save_memory(tmp_path / MEMORY_FILE, bad)
    assert load_memory(tmp_path / MEMORY_FILE) is None


@pytest.mark.parametrize(
    ("mem", "labels", "base", "size", "fast", "words"),
    [
        (memory(), list(CLASSES), "b" * 16, 32, True, None),
        (None, list(CLASSES), "b" * 16, 32, True, "no memory"),
        (memory(), list(CLASSES), "b" * 16, 32, False, "fast path"),
        (memory(), ["dot_right", "dot_left"], "b" * 16, 32, True, "classes"),
        (memory(), list(CLASSES), "c" * 16, 32, True, "another base"),
        (memory(), list(CLASSES), "b" * 16, 64, True, "64 px"),
    ],
)
def test_misfit_says_why_a_memory_cannot_be_used(mem, labels, base, size, fast, words) -> None:
    why = misfit(mem, labels, base, size, fast)
    assert (why is None) if words is None else (words in why)
