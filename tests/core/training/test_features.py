"""core.training.features: pooled base features computed once per image content and size, kept
in a bank on disk and reused across dataset versions. A tiny stand-in with MobileNetV2's layer
names replaces the real base (no weights needed)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from core.data.arrays import SplitArrays, load_npz
from core.data.manifest import SPLITS
from core.training.features import FEATURE_BATCH, base_features, feature_cache_path
from models.mobilenet_v2 import BASE_NAME, FEATURES_LAYER, feature_model

pytestmark = pytest.mark.slow  # runs Keras models many times

SIZE = 8
WIDTH = 5


@pytest.fixture(scope="module")
def model() -> keras.Model:
    """image -> preprocess -> base -> pool -> predictions, named like models.mobilenet_v2."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")(inputs)
    base = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), keras.layers.Conv2D(WIDTH, 3, activation="relu")], name=BASE_NAME
    )
    x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs)


def split(n: int, first_key: int = 0, keys: bool = True) -> SplitArrays:
    rngs = [np.random.default_rng(first_key + i) for i in range(n)]
    x = np.array([r.integers(0, 255, (SIZE, SIZE, 3)) for r in rngs], dtype=np.uint8).reshape(
        n, SIZE, SIZE, 3
    )
    return SplitArrays(
        x=x,
        y=np.zeros(n, np.int64),
        paths=[f"a/{first_key + i}.png" for i in range(n)],
        keys=[f"{first_key + i:064x}" for i in range(n)] if keys else [],
    )


def arrays(train: int = 3, val: int = 2, test: int = 1, offset: int = 0, keys: bool = True) -> dict:
    return {
        "train": split(train, offset, keys),
        "val": split(val, offset + 100, keys),
        "test": split(test, offset + 200, keys),
    }


def expected(model: keras.Model, a: SplitArrays) -> np.ndarray:
    return feature_model(model).predict(a.x.astype(np.float32), verbose=0)


def test_features_are_the_pooled_base_output_and_are_banked(model: keras.Model, tmp_path: Path) -> None:
    bank = tmp_path / "bank.npz"
    data = arrays()
    feats, seconds, from_cache = base_features(model, data, bank)
    assert not from_cache and seconds >= 0
    for s in SPLITS:
        assert feats[s].shape == (len(data[s]), WIDTH) and feats[s].dtype == np.float32
        np.testing.assert_allclose(feats[s], expected(model, data[s]), rtol=1e-5, atol=1e-6)
    saved = load_npz(bank)
    assert saved is not None and sorted(saved["keys"].tolist()) == sorted(
        k for s in SPLITS for k in data[s].keys
    )
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_second_pass_comes_from_the_bank_without_the_model(model: keras.Model, tmp_path: Path) -> None:
    bank = tmp_path / "bank.npz"
    first, _, _ = base_features(model, arrays(), bank)
    again, _, from_cache = base_features(None, arrays(), bank)  # None: the model is never needed
    assert from_cache
    for s in SPLITS:
        np.testing.assert_array_equal(again[s], first[s])


def test_only_new_images_are_computed(model: keras.Model, tmp_path: Path) -> None:
    bank = tmp_path / "bank.npz"
    base_features(model, arrays(), bank)
    grown = arrays(train=4)  # one more training image; the rest are known
    calls: list[tuple[str, int, int]] = []
    feats, _, from_cache = base_features(model, grown, bank, report=lambda *c: calls.append(c))
    assert not from_cache
    assert calls == [("train", 1, 1)], "one batch, for the one new image"
    np.testing.assert_allclose(feats["train"], expected(model, grown["train"]), rtol=1e-5, atol=1e-6)
    assert len(load_npz(bank)["keys"]) == 7


def test_the_bank_is_keyed_by_content_not_by_split(model: keras.Model, tmp_path: Path) -> None:
    bank = tmp_path / "bank.npz"
    data = arrays()
    base_features(model, data, bank)
    moved = {"train": data["val"], "val": data["test"], "test": data["train"]}
    feats, _, from_cache = base_features(None, moved, bank)
    assert from_cache
    np.testing.assert_allclose(feats["test"], expected(model, data["train"]), rtol=1e-5, atol=1e-6)


def test_without_keys_or_cache_path_nothing_is_banked(model: keras.Model, tmp_path: Path) -> None:
    bank = tmp_path / "bank.npz"
    feats, _, from_cache = base_features(model, arrays(keys=False), bank)
    assert not from_cache and feats["train"].shape == (3, WIDTH)
    assert not bank.exists()
    _, _, again = base_features(model, arrays(keys=False), bank)
    assert not again, "arrays without keys are always computed"
    base_features(model, arrays(), None)
    assert list(tmp_path.iterdir()) == []


def test_report_counts_batches_per_split(model: keras.Model, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    n = FEATURE_BATCH + 3
    base_features(model, arrays(train=n, val=1, test=0), None, report=lambda *c: calls.append(c))
    assert calls == [("train", 1, 2), ("train", 2, 2), ("val", 1, 1)]


@pytest.mark.parametrize(
    "content",
    [
        b"garbage",
        "mismatch",
        "truncated",
    ],
)
def test_a_damaged_bank_is_recomputed(model: keras.Model, tmp_path: Path, content: object) -> None:
    bank = tmp_path / "bank.npz"
    data = arrays()
    base_features(model, data, bank)
    if content == "mismatch":  # keys and rows of different lengths
        np.savez(bank, keys=np.array(["a", "b"]), feats=np.zeros((1, WIDTH), np.float32))
    elif content == "truncated":
        bank.write_bytes(bank.read_bytes()[:120])
    else:
        bank.write_bytes(content)
    feats, _, from_cache = base_features(model, data, bank)
    assert not from_cache
    np.testing.assert_allclose(feats["val"], expected(model, data["val"]), rtol=1e-5, atol=1e-6)
    assert len(load_npz(bank)["keys"]) == 6


def test_empty_splits_from_the_bank(model: keras.Model, tmp_path: Path) -> None:
    bank = tmp_path / "bank.npz"
    base_features(model, arrays(), bank)
    feats, _, from_cache = base_features(None, arrays(test=0), bank)
    assert from_cache and feats["test"].shape == (0, WIDTH) and feats["test"].dtype == np.float32


def test_feature_cache_path_depends_on_size_not_version(tmp_path: Path) -> None:
    a = feature_cache_path("aaaaaaaaaaaa", 96, tmp_path)
    assert a == feature_cache_path("bbbbbbbbbbbb", 96, tmp_path)
    assert a != feature_cache_path("aaaaaaaaaaaa", 128, tmp_path)
    assert a.parent == tmp_path / "cache" / "features" and a.suffix == ".npz" and "_96_" in a.name
