"""Scene-like degradations of training images: deterministic per image key, never per position."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.degrade import KINDS, degrade, degraded_copies, parse_kinds
from core.errors import ConfigError
from core.runs.config import RunConfig
from core.training.train import balanced_weights


def images(n: int = 4, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("text", "kinds"), [("", ()), ("lowres", ("lowres",)), ("blur+jpeg+blur", ("blur", "jpeg"))]
)
def test_parse_kinds(text: str, kinds: tuple[str, ...]) -> None:
    assert parse_kinds(text) == kinds


def test_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="unknown sharpen"):
        parse_kinds("lowres+sharpen")
    with pytest.raises(ConfigError, match="sharpen"):
        RunConfig(dataset_version="v", degrade="sharpen").resolved()
    with pytest.raises(ConfigError, match="class_weight"):
        RunConfig(dataset_version="v", class_weight="inverse").resolved()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_changes_the_image_but_keeps_its_shape(kind: str) -> None:
    x = images(1)[0]
    out, tag = degrade(x, kind, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == np.uint8
    assert tag.startswith(kind) and not np.array_equal(out, x)


def test_lowres_loses_detail() -> None:
    x = images(1, 128)[0]
    out, tag = degrade(x, "lowres", np.random.default_rng(1))
    px = int(tag.removeprefix("lowres"))
    assert 12 <= px <= 48
    # high-frequency noise is gone: neighbouring pixels differ far less than in the original
    assert (
        np.abs(np.diff(out.astype(int), axis=1)).mean() < 0.5 * np.abs(np.diff(x.astype(int), axis=1)).mean()
    )


def test_copies_depend_on_the_key_not_the_position() -> None:
    x, y = images(3), np.array([0, 1, 0])
    keys = ["a", "b", "c"]
    x1, y1, k1 = degraded_copies(x, y, keys, KINDS, 2, seed=5)
    assert len(x1) == 9 and list(y1) == [0, 1, 0] * 3 and k1[:3] == keys
    # the same image at another position (another dataset version) gets the same copies
    x2, _, k2 = degraded_copies(x[::-1], y[::-1], keys[::-1], KINDS, 2, seed=5)
    assert k2[3] == k1[5] and np.array_equal(x2[3], x1[5])
    # another seed draws other copies
    _, _, k3 = degraded_copies(x, y, keys, KINDS, 2, seed=6)
    assert k3[3:] != k1[3:]


def test_no_kinds_or_no_copies_changes_nothing() -> None:
    x, y = images(2), np.array([0, 1])
    assert degraded_copies(x, y, ["a", "b"], (), 3, 0)[0] is x
    assert degraded_copies(x, y, ["a", "b"], KINDS, 0, 0)[0] is x


def test_balanced_weights() -> None:
    w = balanced_weights(np.array([0, 0, 0, 1]), 3)
    assert w[0] == pytest.approx(4 / 9) and w[1] == pytest.approx(4 / 3) and w[2] == 1.0
