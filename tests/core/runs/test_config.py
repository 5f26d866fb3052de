"""RunConfig validation, model defaults and sweep grids (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.runs.config import RunConfig, Settings, expand_grid
from models.registry import get_spec


def test_resolved_fills_the_model_defaults() -> None:
    cfg = RunConfig(model="small_vgg", dataset_version="abc", epochs=3).resolved()
    defaults = get_spec("small_vgg").defaults
    assert cfg.epochs == 3
    assert cfg.image_size == defaults["image_size"] and cfg.neurons == 120 and cfg.dropout == 0.5
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model", "resnet"),
        ("loss", "hinge"),
        ("optimizer", "adagrad"),
        ("learning_rate", 0),
        ("learning_rate", float("nan")),
        ("epochs", 0),
        ("epochs", True),
        ("batch_size", 2.5),
        ("dropout", 1.0),
        ("image_size", 16),
        ("weights", "coco"),
        ("augment", "yes"),
        ("fine_tune_blocks", 18),
        ("dataset_version", ""),
    ],
)
def test_invalid_values_are_named(key: str, value: object) -> None:
    data = {"model": "lenet", "dataset_version": "abc", key: value}
    with pytest.raises(ConfigError, match=key):
        RunConfig.from_dict(data).resolved()


def test_small_vgg_refuses_an_input_too_small_for_its_four_pools() -> None:
    with pytest.raises(ConfigError, match="at least 46"):
        RunConfig(model="small_vgg", dataset_version="abc", image_size=40).resolved()
    assert RunConfig(model="lenet", dataset_version="abc", image_size=40).resolved().image_size == 40


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="epoch"):
        RunConfig.from_dict({"model": "lenet", "epoch": 3})


def test_the_three_losses_are_accepted() -> None:
    for loss in ("categorical_crossentropy", "mean_squared_error", "mean_squared_logarithmic_error"):
        assert RunConfig(model="lenet", dataset_version="v", loss=loss).resolved().loss == loss


def test_fast_path_only_for_frozen_mobilenet_without_augmentation() -> None:
    base = {"dataset_version": "v"}
    assert RunConfig(model="mobilenet_v2", **base).resolved().uses_fast_path
    assert not RunConfig(model="mobilenet_v2", augment=True, **base).resolved().uses_fast_path
    assert not RunConfig(model="mobilenet_v2", fast_path=False, **base).resolved().uses_fast_path
    assert not RunConfig(model="lenet", **base).resolved().uses_fast_path


def test_grid_with_base_and_axes_is_the_product() -> None:
    configs = expand_grid(
        {
            "base": {"dataset_version": "v", "epochs": 1},
            "grid": {"model": ["lenet", "small_vgg"], "image_size": [64, 96]},
        }
    )
    assert [(c.model, c.image_size) for c in configs] == [
        ("lenet", 64),
        ("lenet", 96),
        ("small_vgg", 64),
        ("small_vgg", 96),
    ]
    assert all(c.epochs == 1 for c in configs)


def test_flat_grid_treats_lists_as_axes() -> None:
    configs = expand_grid(
        {"model": "lenet", "dataset_version": "v", "loss": ["mean_squared_error", "categorical_crossentropy"]}
    )
    assert [c.loss for c in configs] == ["mean_squared_error", "categorical_crossentropy"]


@pytest.mark.parametrize(
    "grid",
    [
        [],
        {"grid": {"model": []}, "base": {"dataset_version": "v"}},
        {"grid": {"epochs": [1, 0]}, "base": {"model": "lenet", "dataset_version": "v"}},
        {"grid": {"epochs": [1]}, "base": {}, "extra": 1},
    ],
)
def test_bad_grids_are_refused_before_any_run(grid: object) -> None:
    with pytest.raises(ConfigError):
        expand_grid(grid)


def test_settings_of_a_resolved_config_are_typed_and_complete() -> None:
    cfg = RunConfig(model="lenet", dataset_version="v1", epochs=3).resolved()
    settings = cfg.settings()
    assert isinstance(settings, Settings) and settings.epochs == 3
    assert settings._asdict() == {k: getattr(cfg, k) for k in Settings._fields}


def test_settings_of_an_unresolved_config_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="image_size, epochs, batch_size"):
        RunConfig(model="lenet", dataset_version="v1", learning_rate=0.01).settings()
