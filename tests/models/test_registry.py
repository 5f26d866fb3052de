"""The pretrained-backbone contract: a second pretrained family, registered at test time from one
file (tests/models/tiny_backbone.py) and its weights file, is picked up by config validation,
recipes, warm start planning, the feature cache, training and the Launch page with no other
code change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.runs.config import RunConfig
from models.registry import (
    DEFAULT_MODEL,
    MODELS,
    Backbone,
    ModelSpec,
    WeightsUnavailable,
    get_spec,
    model_names,
    pretrained_names,
    register,
)
from tests.models import tiny_backbone

pytestmark = pytest.mark.slow

TINY = "tinynet"


@pytest.fixture
def tiny(keras_home: Path) -> Iterator[ModelSpec]:
    """TinyNet registered, its weights file in the session's Keras cache; both gone afterwards."""
    weights = tiny_backbone.write_weights(keras_home / "models")
    spec = register(
        ModelSpec(
            name=TINY,
            title="TinyNet (test family)",
            builder="tests.models.tiny_backbone:make_model",
            defaults={
                "image_size": 32,
                "epochs": 2,
                "batch_size": 8,
                "learning_rate": 1e-2,
                "neurons": 8,
                "dropout": 0.0,
                "augment": False,
            },
            images_per_s=777.0,
            backbone=Backbone(
                module="tests.models.tiny_backbone",
                label="TinyNet",
                weights_file=tiny_backbone.WEIGHTS_FILE,
                feature_width=tiny_backbone.WIDTH,
                blocks=2,
                fine_tune_defaults={
                    "fine_tune_blocks": 1,
                    "fine_tune_epochs": 1,
                    "fine_tune_learning_rate": 1e-3,
                },
                fine_tune_min_classes=2,
            ),
        )
    )
    try:
        yield spec
    finally:
        MODELS.pop(TINY, None)
        weights.unlink(missing_ok=True)


def test_the_default_model_is_the_pretrained_mobilenet_and_names_are_unique() -> None:
    assert DEFAULT_MODEL in pretrained_names() and "lenet" not in pretrained_names()
    assert RunConfig().model == DEFAULT_MODEL
    with pytest.raises(ValueError, match="already registered"):
        register(get_spec("lenet"))


def test_config_validation_asks_the_backbone(tiny: ModelSpec) -> None:
    assert TINY in model_names() and TINY in pretrained_names()
    cfg = RunConfig(model=TINY, dataset_version="v", warm_start="starter").resolved()
    assert cfg.settings().image_size == 32 and cfg.backbone is tiny.backbone and cfg.uses_fast_path
    assert not RunConfig(model=TINY, dataset_version="v", augment=True).resolved().uses_fast_path
    RunConfig(model=TINY, dataset_version="v", fine_tune_blocks=2).resolved()
    with pytest.raises(ConfigError, match="fine_tune_blocks"):
        RunConfig(model=TINY, dataset_version="v", fine_tune_blocks=3).resolved()  # TinyNet has 2
    with pytest.raises(ConfigError, match="warm_start"):
        RunConfig(model="lenet", dataset_version="v", warm_start="starter").resolved()


def test_the_weights_file_is_the_only_source_and_missing_it_says_which_file(
    tiny: ModelSpec, workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from core.runs.experiments import throughput
    from core.runs.pretrained import base_sources, plan_warm_start, unavailable_reason

    [source] = base_sources(TINY)  # the shipped starter is a MobileNetV2: not a source
    assert source.origin == "keras-cache" and source.weights.endswith(tiny_backbone.WEIGHTS_FILE)
    assert unavailable_reason(TINY) is None
    warm = plan_warm_start("starter", ["a", "b"], 8, TINY)
    assert warm.base == source and warm.head_from is None and "not a TinyNet" in warm.text
    assert throughput([], TINY).images_per_s_96 == 777.0
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    reason = unavailable_reason(TINY)
    assert reason is not None and "TinyNet" in reason and tiny_backbone.WEIGHTS_FILE in reason
    with pytest.raises(ConfigError, match="TinyNet"):
        plan_warm_start("none", ["a", "b"], 8, TINY)
    with pytest.raises(WeightsUnavailable):
        tiny_backbone.make_base(32)


def test_recipes_warm_start_and_fine_tune_from_the_backbone(tiny: ModelSpec, workspace: Path) -> None:
    from core.runs.recipes import plan_run
    from tests.fake_runs import make_manifest

    plan = plan_run(RunConfig(model=TINY, dataset_version=make_manifest()))
    assert plan.config.warm_start == "starter"
    assert (plan.config.fine_tune_blocks, plan.config.fine_tune_epochs) == (1, 1)  # 2 classes >= its 2
    assert any("top 1 blocks" in n for n in plan.notes)


def test_a_finished_run_of_the_family_is_a_warm_start_and_another_familys_is_not(
    tiny: ModelSpec, workspace: Path
) -> None:
    from core.fsutil import atomic_write_json
    from core.runs.pretrained import plan_warm_start
    from core.runs.store import load_run, run_path
    from tests.core.runs.test_active_model import LABELS, make_run

    run = make_run(workspace, labels=LABELS, name=TINY)
    atomic_write_json(run_path(run) / "config.json", {**load_run(run).config, "neurons": 8})
    warm = plan_warm_start(f"run:{run}", list(LABELS), 8, TINY)
    assert warm.base.origin == "run" and warm.head_from == warm.base.weights
    mobilenet = make_run(workspace, labels=LABELS, name=DEFAULT_MODEL)
    with pytest.raises(ConfigError, match="only a TinyNet run"):
        plan_warm_start(f"run:{mobilenet}", list(LABELS), 8, TINY)


def test_training_uses_the_families_base_feature_cache_and_fine_tuning(
    tiny: ModelSpec, keras_home: Path, tmp_path: Path
) -> None:
    from core.data.arrays import load_arrays
    from core.data.manifest import find_manifest
    from core.runs.store import load_run
    from core.training.features import base_features, feature_cache_path
    from core.training.train import run_here
    from core.vision.model_files import load_model_file
    from tests.models.synth import make_dataset_version

    root = tmp_path / "ws"
    version = make_dataset_version(root)
    rec = load_run(run_here({"model": TINY, "dataset_version": version}, root), root)
    assert rec.state == "done", rec.status.get("traceback")
    assert rec.metrics["fast_path"] is True and rec.metrics["base_weights"] == "keras-cache"
    assert [r["phase"] for r in rec.history] == ["head", "head", "fine_tune"]  # the family's recipe
    model = load_model_file(rec.path / "model.keras")
    reference = tiny_backbone.make_base(32)
    for mine, theirs in zip(
        model.get_layer(tiny_backbone.BASE_NAME).get_layer("block_1_conv").get_weights(),
        reference.get_layer("block_1_conv").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)  # the bottom block stayed frozen at the file's weights
    start = tiny_backbone.make_model((32, 32, 3), 2)
    bank = feature_cache_path(version, 32, root, base=tiny_backbone.base_digest(start), family=TINY)
    assert bank.is_file() and bank.name.startswith(f"{TINY}_")
    manifest, folder = find_manifest(version, root)
    feats, _, from_cache = base_features(None, load_arrays(manifest, folder, 32, root), bank, family=TINY)
    assert from_cache and feats["train"].shape[1] == tiny_backbone.WIDTH


def test_the_launch_page_offers_the_family_or_says_which_file_is_missing(
    tiny: ModelSpec, workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.fake_runs import make_manifest
    from tests.pages.conftest import open_page, run

    make_manifest()
    at = run(open_page("experiments.py"))
    assert tiny.title in at.multiselect(key="exp_models").options
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    at = run(open_page("experiments.py"))
    assert tiny.title not in at.multiselect(key="exp_models").options
    assert any("TinyNet" in w.value and tiny_backbone.WEIGHTS_FILE in w.value for w in at.warning)
