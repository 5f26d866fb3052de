"""Model families: shapes, the exact small-VGG listing, augmentation, MobileNetV2 weights and head."""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from keras import layers

from models import mobilenet_v2
from models.augmentation import make_augmentation
from models.registry import MODELS, TRAINING_SETTINGS, build_model, get_spec, model_names

pytestmark = pytest.mark.slow

SIZES = {"lenet": 32, "small_vgg": 48, "mobilenet_v2": 32}


@pytest.mark.parametrize("name", model_names())
@pytest.mark.parametrize("augment", [False, True])
def test_every_model_gives_class_probabilities(name: str, augment: bool) -> None:
    size = SIZES[name]
    model = build_model(name, size, 3, neurons=16, dropout=0.2, augment=augment, seed=1, weights="random")
    x = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype("float32")
    probs = model.predict(x, verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    has_aug = any(layer.name == "augmentation" for layer in model.layers)
    assert has_aug is augment


def test_unknown_model_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="lenet"):
        get_spec("resnet")


def test_small_vgg_is_listing_4_exactly() -> None:
    model = build_model(
        "small_vgg",
        64,
        2,
        **{k: get_spec("small_vgg").defaults[k] for k in ("neurons", "dropout")},
        augment=False,
    )
    core = [lyr for lyr in model.layers if not isinstance(lyr, layers.InputLayer | layers.Rescaling)]
    kinds = [type(lyr).__name__ for lyr in core]
    assert kinds == ["Conv2D", "MaxPooling2D"] * 4 + ["Flatten", "Dropout", "Dense", "Dense"]
    convs = [lyr for lyr in core if isinstance(lyr, layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 64, 128, 128]
    assert all(c.kernel_size == (3, 3) and c.activation.__name__ == "relu" for c in convs)
    assert all(p.pool_size == (2, 2) for p in core if isinstance(p, layers.MaxPooling2D))
    dropout, hidden, out = core[-3:]
    assert dropout.rate == 0.5 and hidden.units == 120 and hidden.activation.__name__ == "relu"
    assert out.units == 2 and out.activation.__name__ == "softmax"


def test_lenet_neurons_parameter_sets_the_hidden_layer() -> None:
    assert get_spec("lenet").defaults["neurons"] == 128
    model = build_model("lenet", 32, 2, neurons=77, dropout=0.0, augment=False)
    assert model.get_layer("dense").units == 77
    assert [type(lyr).__name__ for lyr in model.layers].count("MaxPooling2D") == 2


def test_augmentation_changes_training_images_only() -> None:
    aug = make_augmentation(seed=3)
    assert [type(lyr).__name__ for lyr in aug.layers] == [
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "RandomContrast",
    ]
    x = np.random.default_rng(1).uniform(0, 255, (4, 24, 24, 3)).astype("float32")
    assert not np.allclose(np.asarray(aug(x, training=True)), x)
    model = keras.Sequential([keras.Input((24, 24, 3)), aug])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert len(make_augmentation(flip=None, rotation=0, zoom=0.1, translation=0, contrast=0).layers) == 1


def test_imagenet_weights_come_from_the_seeded_keras_cache(keras_home) -> None:
    base = mobilenet_v2.make_base(96, "imagenet")
    with h5py.File(keras_home / "models" / mobilenet_v2.WEIGHTS_FILE, "r") as h5:
        expected = np.asarray(h5["Conv1"]["Conv1"]["kernel:0"])
    np.testing.assert_array_equal(base.get_layer("Conv1").get_weights()[0], expected)
    assert base.input_shape[1:3] == (96, 96)


def test_missing_weights_say_which_file_to_put_where_and_nothing_downloads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(mobilenet_v2, "keras_cache_dir", lambda: tmp_path / "models")  # an empty cache
    real = keras.applications.MobileNetV2

    def no_download(*args, **kwargs):
        assert kwargs.get("weights") != "imagenet", "asked Keras to download the weights"
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.applications, "MobileNetV2", no_download)
    with pytest.raises(mobilenet_v2.WeightsUnavailable) as info:
        mobilenet_v2.make_model((32, 32, 3), 2)
    assert mobilenet_v2.WEIGHTS_FILE in str(info.value)
    assert info.value.folder.endswith("models") and info.value.folder in str(info.value)
    # Explicit random initialisation needs no file.
    assert mobilenet_v2.make_model((32, 32, 3), 2, weights="random").output_shape == (None, 2)


def test_the_base_can_come_from_a_saved_classifier_and_equals_the_imagenet_file(
    keras_home: Path, tmp_path: Path
) -> None:
    saved = mobilenet_v2.make_model((64, 64, 3), 2, neurons=8)
    saved.save(tmp_path / "m.keras")
    copied = mobilenet_v2.make_model((48, 48, 3), 2, neurons=8, weights=str(tmp_path / "m.keras"))
    assert mobilenet_v2.base_digest(copied) == mobilenet_v2.base_digest(saved)
    for a, b in zip(
        copied.get_layer(mobilenet_v2.BASE_NAME).get_weights(),
        mobilenet_v2.make_base(96, "imagenet").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(mobilenet_v2.WeightsUnavailable):
        mobilenet_v2.make_base(32, str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError):
        mobilenet_v2.make_base(32, "imagenet21k")


def test_copy_head_needs_the_same_shapes(tmp_path: Path) -> None:
    a = mobilenet_v2.make_model((32, 32, 3), 2, neurons=8, weights="random", seed=1)
    b = mobilenet_v2.make_model((32, 32, 3), 2, neurons=8, weights="random", seed=2)
    assert mobilenet_v2.copy_head(a, b)
    np.testing.assert_array_equal(
        a.get_layer("predictions").get_weights()[0], b.get_layer("predictions").get_weights()[0]
    )
    wider = mobilenet_v2.make_model((32, 32, 3), 2, neurons=16, weights="random")
    three = mobilenet_v2.make_model((32, 32, 3), 3, neurons=8, weights="random")
    assert not mobilenet_v2.copy_head(a, wider) and not mobilenet_v2.copy_head(a, three)


def test_mobilenet_head_shares_weights_and_base_stays_frozen() -> None:
    model = mobilenet_v2.make_model((32, 32, 3), 2, neurons=8, weights="random", seed=0)
    base = model.get_layer(mobilenet_v2.BASE_NAME)
    assert base.trainable is False
    assert {w.path for w in model.trainable_weights} == {
        w.path for name in mobilenet_v2.HEAD_LAYERS for w in model.get_layer(name).weights
    }
    x = np.random.default_rng(2).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    head = mobilenet_v2.head_model(model)
    feats = mobilenet_v2.feature_model(model).predict(x, verbose=0)
    head.get_layer("predictions").kernel.assign(np.ones((8, 2), "float32"))
    np.testing.assert_allclose(head.predict(feats, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    before = [w.copy() for w in base.get_weights()]
    head.compile("adam", "categorical_crossentropy")
    model.compile("adam", "categorical_crossentropy")
    model.fit(x, np.eye(2)[[0, 1, 0]], epochs=1, verbose=0)
    for a, b in zip(before, base.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # frozen, and BatchNorm statistics untouched (training=False)


def test_unfreeze_top_blocks_opens_the_last_blocks_without_batchnorm() -> None:
    model = mobilenet_v2.make_model((32, 32, 3), 2, weights="random")
    assert mobilenet_v2.unfreeze_top_blocks(model, 1) > 0
    base = model.get_layer(mobilenet_v2.BASE_NAME)
    trainable = {lyr.name for lyr in base.layers if lyr.trainable and lyr.weights}
    assert trainable and all(n.startswith(("block_16_", "Conv_1")) for n in trainable)
    assert not any(isinstance(base.get_layer(n), layers.BatchNormalization) for n in trainable)
    assert (
        mobilenet_v2.unfreeze_top_blocks(model, 0) == 0
        and not model.get_layer(mobilenet_v2.BASE_NAME).trainable
    )
    with pytest.raises(ValueError):
        mobilenet_v2.unfreeze_top_blocks(model, 18)


def test_registry_defaults_are_complete() -> None:
    for spec in MODELS.values():
        assert set(TRAINING_SETTINGS) <= set(spec.defaults)
        assert spec.defaults["image_size"] >= spec.min_image_size


def test_weights_unavailable_names_the_file_and_folder() -> None:
    exc = mobilenet_v2.WeightsUnavailable("no weights offline", file="w.h5", folder="/cache/models")
    assert str(exc) == "no weights offline"
    assert (exc.file, exc.folder) == ("w.h5", "/cache/models")
    assert (
        mobilenet_v2.WeightsUnavailable("x").file == "" and mobilenet_v2.WeightsUnavailable("x").folder == ""
    )
