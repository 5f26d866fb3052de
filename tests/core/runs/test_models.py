"""core.runs.models: a run's model file and labels, and its Classifier with a cached LiteRT export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import ClassifierError
from core.runs.models import classifier_for_run, run_labels, run_model_path
from core.runs.store import run_path
from core.vision import classifier as clf_mod
from tests.core.runs.test_active_model import LABELS, make_run
from tests.core.vision.test_classifier import SIZE, crops, tiny_model


@pytest.fixture
def run_id(workspace: Path) -> str:
    rid = make_run(workspace, model=None, image_size=SIZE)
    tiny_model().save(run_path(rid, workspace) / "best.keras")
    return rid


@pytest.mark.slow
def test_run_classifier_caches_its_litert_export(workspace: Path, run_id: str, monkeypatch) -> None:
    first = classifier_for_run(run_id)
    cache = run_path(run_id, workspace) / "best.tflite"
    assert first.backend == "litert" and cache.is_file()
    assert first.labels == LABELS and first.image_size == SIZE
    assert not list(cache.parent.glob("*.tmp"))

    def must_not_export(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the cached .tflite should have been used")

    monkeypatch.setattr(clf_mod, "export_litert", must_not_export)
    second = classifier_for_run(run_id)
    assert second.backend == "litert"
    np.testing.assert_allclose(second.predict(crops()), first.predict(crops()), atol=1e-6)


def test_unfinished_missing_or_modelless_runs_are_refused(workspace: Path) -> None:
    with pytest.raises(ClassifierError, match="failed"):
        classifier_for_run(make_run(workspace, state="failed"))
    with pytest.raises(ClassifierError, match="no run"):
        classifier_for_run("20000101-000000-nothing")
    rid = make_run(workspace, model=None)
    with pytest.raises(ClassifierError, match="no model file"):
        classifier_for_run(rid)


def test_model_path_prefers_best_then_last(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match="no model file"):
        run_model_path(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"x")
    assert run_model_path(tmp_path).name == "model.keras"
    (tmp_path / "best.keras").write_bytes(b"x")
    assert run_model_path(tmp_path).name == "best.keras"


def test_labels_come_from_labels_txt_or_metrics(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("b\n\na\n")
    assert run_labels(tmp_path) == ["b", "a"]
    (tmp_path / "labels.txt").unlink()
    assert run_labels(tmp_path, {"classes": ["x", "y"]}) == ["x", "y"]
    with pytest.raises(ClassifierError):
        run_labels(tmp_path, {})


def test_labels_that_are_not_utf8_text_are_a_classifier_error(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_bytes(b"with_mask\n\xff\xfe\x00broken\n")
    with pytest.raises(ClassifierError, match="not UTF-8"):
        run_labels(tmp_path)
