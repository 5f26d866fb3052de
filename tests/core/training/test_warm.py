"""The model a run starts from, and what happens when the starter cannot be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.runs.config import RunConfig
from core.training.warm import build_start_model
from models import mobilenet_v2
from tests.models.synth import CLASSES


def config(**kw) -> RunConfig:
    return RunConfig(
        **{"model": "mobilenet_v2", "dataset_version": "v", "image_size": 32, "neurons": 8, **kw}
    ).resolved()


def fake_starter(folder: Path, model_bytes: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if model_bytes is None:
        m = mobilenet_v2.make_model((32, 32, 3), 2, neurons=8, seed=3)
        m.get_layer("predictions").kernel.assign(np.full((8, 2), 0.25, "float32"))
        m.save(folder / "model.keras")
    else:
        (folder / "model.keras").write_bytes(model_bytes)
    (folder / "labels.txt").write_text("".join(f"{c}\n" for c in CLASSES), encoding="utf-8")
    (folder / "starter.json").write_text('{"recipe": {"neurons": 8}}', encoding="utf-8")
    return folder


def test_warm_start_copies_the_starters_head(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keras_home: Path
) -> None:
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(fake_starter(tmp_path / "s")))
    model, warm = build_start_model(config(warm_start="starter"), list(CLASSES))
    assert warm is not None and warm.head_from and warm.base.origin == "starter"
    np.testing.assert_array_equal(model.get_layer("predictions").kernel.numpy(), np.full((8, 2), 0.25))
    fresh, cold = build_start_model(config(warm_start="none"), list(CLASSES))
    assert cold is not None and cold.head_from is None and "warm start off" in cold.text
    assert not np.allclose(fresh.get_layer("predictions").kernel.numpy(), 0.25)


def test_an_unreadable_starter_falls_back_to_the_keras_cache_and_says_so(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keras_home: Path
) -> None:
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(fake_starter(tmp_path / "s", b"not a keras file")))
    _, warm = build_start_model(config(warm_start="starter"), list(CLASSES))
    assert warm is not None and warm.base.origin == "keras-cache" and warm.head_from is None
    assert "no warm start" in warm.text


def test_no_readable_base_at_all_is_a_config_error(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(fake_starter(tmp_path / "s", b"broken")))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras"))  # core.runs.pretrained reads it
    with pytest.raises(ConfigError, match="could not be read"):
        build_start_model(config(warm_start="starter"), list(CLASSES))


def test_models_without_a_starter_build_as_asked(workspace: Path) -> None:
    model, warm = build_start_model(
        RunConfig(model="lenet", dataset_version="v", image_size=32).resolved(), list(CLASSES)
    )
    assert warm is None and model.output_shape == (None, 2)


def test_a_finished_runs_model_is_the_start_of_a_run_warm_started_from_it(
    workspace: Path, tmp_path: Path, keras_home: Path
) -> None:
    from core.fsutil import atomic_write_json
    from core.runs.store import load_run, run_path
    from tests.core.runs.test_active_model import make_run

    run = make_run(workspace, model=None, labels=tuple(CLASSES), name="mobilenet_v2", image_size=32)
    trained = mobilenet_v2.make_model((32, 32, 3), 2, neurons=8, seed=5)
    trained.get_layer("predictions").kernel.assign(np.full((8, 2), 0.5, "float32"))
    conv = trained.get_layer(mobilenet_v2.BASE_NAME).get_layer("Conv_1")
    conv.kernel.assign(conv.kernel.numpy() + 1.0)  # as if fine-tuned: the run's base is its own
    trained.save(run_path(run) / "best.keras")
    atomic_write_json(run_path(run) / "config.json", {**load_run(run).config, "neurons": 8})
    model, warm = build_start_model(config(warm_start=f"run:{run}"), list(CLASSES))
    assert warm is not None and warm.base.origin == "run" and warm.head_from
    np.testing.assert_array_equal(model.get_layer("predictions").kernel.numpy(), np.full((8, 2), 0.5))
    mine = model.get_layer(mobilenet_v2.BASE_NAME).get_layer("Conv_1").kernel.numpy()
    np.testing.assert_array_equal(mine, conv.kernel.numpy())
