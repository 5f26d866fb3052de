"""RunConfig validation, model defaults and sweep grids (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.runs.config import (
    MAX_CONFIG_BYTES,
    SWEEP_LIMIT,
    RunConfig,
    Settings,
    expand_grid,
    grid_size,
    json_depth,
    parse_config_text,
    read_config_file,
    require_dataset_versions,
)
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


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("starter", True),
        ("none", True),
        ("run:20261207-0101-mobilenet_v2-abc123", True),
        ("run:", False),
        ("run:../x", False),
        ("run:.x", False),
        ("imagenet", False),
        (3, False),
    ],
)
def test_warm_start_may_name_a_finished_run(value: object, ok: bool) -> None:
    from core.runs.config import is_warm_start

    assert is_warm_start(value) is ok
    if isinstance(value, str):
        cfg = RunConfig(model="mobilenet_v2", dataset_version="v1", warm_start=value)
        if ok:
            cfg.validate_recipe()
        else:
            with pytest.raises(ConfigError, match="warm_start"):
                cfg.validate_recipe()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested 100000 levels deep"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested 100000 levels deep"),
        ('{"model": "lenet", "x": ' + "[" * 17 + "]" * 17 + "}", "nested 18 levels deep"),
        ('{"model": NaN}', "not valid JSON"),
        ('{"model": ', "not valid JSON"),
        ('"' + "x" * (2 << 20) + '"', "at most 1048576 bytes"),
    ],
)
def test_config_text_is_bounded_before_it_is_parsed(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config_text(text)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"name": "[[[[[[[[[[[[[[[[[[[[ \\" {{{{{{{{{{{{{{{{{{", "grid": {"neurons": [[1], [2]]}}'
    assert json_depth(text) == 4
    assert parse_config_text(text)["name"].startswith("[[[")


def test_a_config_file_is_refused_by_size_before_it_is_read(tmp_path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="at most"):
        read_config_file(big)
    with pytest.raises(ConfigError, match="cannot read"):
        read_config_file(tmp_path / "missing.json")
    (tmp_path / "latin.json").write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(ConfigError, match="UTF-8"):
        read_config_file(tmp_path / "latin.json")


def test_a_sweep_over_the_limit_is_refused_before_any_point_is_made() -> None:
    grid = {
        "base": {"model": "lenet", "dataset_version": "missing"},
        "grid": {"batch_size": list(range(1, 601)), "neurons": list(range(1, 451))},
    }
    assert grid_size(grid) == 270_000
    with pytest.raises(ConfigError, match="270,000 runs; at most 500"):
        expand_grid(grid)
    assert len(expand_grid({**grid, "grid": {"batch_size": list(range(1, 501))}})) == SWEEP_LIMIT


def test_dataset_versions_must_exist(workspace) -> None:
    from tests.fake_runs import make_manifest

    version = make_manifest()
    configs = expand_grid({"base": {"model": "lenet"}, "grid": {"dataset_version": [version, "gone"]}})
    require_dataset_versions(configs[:1])
    with pytest.raises(ConfigError, match="dataset_version='gone' does not exist"):
        require_dataset_versions(configs)


def test_settings_of_a_resolved_config_are_typed_and_complete() -> None:
    cfg = RunConfig(model="lenet", dataset_version="v1", epochs=3).resolved()
    settings = cfg.settings()
    assert isinstance(settings, Settings) and settings.epochs == 3
    assert settings._asdict() == {k: getattr(cfg, k) for k in Settings._fields}


def test_settings_of_an_unresolved_config_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="image_size, epochs, batch_size"):
        RunConfig(model="lenet", dataset_version="v1", learning_rate=0.01).settings()
