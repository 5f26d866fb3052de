"""Where MobileNetV2's ImageNet base comes from offline, and what a warm start copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.runs.pretrained import base_source, base_sources, plan_warm_start, unavailable_reason


def starter(folder: Path, labels: str = "with_mask\nwithout_mask\n", neurons: int = 256) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"model")
    (folder / "labels.txt").write_text(labels, encoding="utf-8")
    (folder / "starter.json").write_text(f'{{"recipe": {{"neurons": {neurons}}}}}', encoding="utf-8")
    return folder


@pytest.fixture
def no_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras"))


def test_the_starter_comes_first_then_the_keras_cache(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keras_home: Path
) -> None:
    assert [s.origin for s in base_sources()] == ["keras-cache"]  # the fixture's starter is absent
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(starter(tmp_path / "s")))
    assert [s.origin for s in base_sources()] == ["starter", "keras-cache"]
    assert base_source().weights.endswith("model.keras") and unavailable_reason() is None


def test_with_neither_mobilenet_cannot_train_and_says_what_to_do(
    workspace: Path, no_keras_cache: None
) -> None:
    reason = unavailable_reason()
    assert reason is not None and "models/starter" in reason and ".h5" in reason
    with pytest.raises(ConfigError, match="ImageNet weights"):
        base_source()


@pytest.mark.parametrize(
    ("labels", "neurons", "classes", "width", "head", "words"),
    [
        ("with_mask\nwithout_mask\n", 256, ["with_mask", "without_mask"], 256, True, "base and head"),
        ("with_mask\nwithout_mask\n", 256, ["without_mask", "with_mask"], 256, False, "classes"),
        ("with_mask\nwithout_mask\n", 256, ["a", "b", "c"], 256, False, "head is new"),
        ("with_mask\nwithout_mask\n", 128, ["with_mask", "without_mask"], 256, False, "128 neurons"),
    ],
)
def test_the_head_is_copied_only_when_classes_and_width_match(
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keras_cache: None,
    labels: str,
    neurons: int,
    classes: list[str],
    width: int,
    head: bool,
    words: str,
) -> None:
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(starter(tmp_path / "s", labels, neurons)))
    warm = plan_warm_start("starter", classes, width)
    assert bool(warm.head_from) is head and words in warm.text
    assert plan_warm_start("none", classes, width).head_from is None
    with pytest.raises(ConfigError):
        plan_warm_start("imagenet21k", classes, width)


def test_a_finished_mobilenet_run_can_be_the_warm_start(workspace: Path, tmp_path: Path) -> None:
    from core.fsutil import atomic_write_json
    from core.runs.store import load_run, run_path
    from tests.core.runs.test_active_model import LABELS, make_run

    run = make_run(workspace, labels=LABELS, name="mobilenet_v2", image_size=96)
    atomic_write_json(run_path(run) / "config.json", {**load_run(run).config, "neurons": 64})
    warm = plan_warm_start(f"run:{run}", list(LABELS), 64)
    assert warm.base.origin == "run" and warm.base.weights.endswith("best.keras")
    assert warm.head_from == warm.base.weights and f"run {run}" in warm.text
    assert plan_warm_start(f"run:{run}", ["a", "b"], 64).head_from is None, "other classes: a new head"
    assert plan_warm_start(f"run:{run}", list(LABELS), 32).head_from is None, "another width: a new head"
    lenet = make_run(workspace, labels=LABELS)
    queued = make_run(workspace, labels=LABELS, name="mobilenet_v2", state="queued")
    for bad, why in ((lenet, "only a MobileNetV2"), (queued, "not finished"), ("nope", "no run")):
        with pytest.raises(ConfigError, match=why):
            plan_warm_start(f"run:{bad}", list(LABELS), 64)
    with pytest.raises(ConfigError, match="invalid"):
        plan_warm_start("run:../x", list(LABELS), 64)
