"""core.runs.export: a finished run is exported as .keras, a checked .tflite and labels.txt, all
or nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import TrainingError
from core.runs import export as export_mod
from core.runs.export import export_run
from core.runs.store import run_path
from core.vision.model_files import load_model_file
from tests.core.runs.test_active_model import LABELS, make_run
from tests.tiny_models import tiny_lenet_files

pytestmark = pytest.mark.slow


def litert_predict(path: Path, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.resize_tensor_input(it.get_input_details()[0]["index"], list(x.shape))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.fixture(scope="module")
def files() -> tuple[bytes, bytes]:
    return tiny_lenet_files(seed=1, confidence=40.0)


def test_export_writes_keras_tflite_and_labels_that_agree(
    workspace: Path, files: tuple[bytes, bytes]
) -> None:
    run_id = make_run(workspace, model=files[0], labels=LABELS)
    paths = export_run(run_id, workspace)
    assert set(paths) == {"keras", "tflite", "labels"}
    assert paths["keras"].read_bytes() == files[0]
    assert paths["labels"].read_text().split() == list(LABELS)
    assert not list(paths["keras"].parent.glob("*.tmp"))
    model = load_model_file(paths["keras"])
    x = np.random.default_rng(0).uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    ref = model.predict(x, verbose=0)
    np.testing.assert_allclose(litert_predict(paths["tflite"], x), ref, atol=1e-4)
    assert len(set(ref.argmax(1).tolist())) == 2  # both classes: the comparison can fail


def test_a_tflite_that_disagrees_with_the_model_is_refused_and_nothing_is_written(
    workspace: Path, files: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = make_run(workspace, model=files[0], labels=LABELS)
    other = tiny_lenet_files(seed=2, confidence=40.0)[1]  # another model's LiteRT bytes
    monkeypatch.setattr(export_mod, "export_litert", lambda model, **kw: other)
    with pytest.raises(TrainingError, match="differs from the Keras model"):
        export_run(run_id, workspace)
    assert not (run_path(run_id, workspace) / "export").exists()


def test_a_failed_export_keeps_the_previous_one(workspace: Path, files: tuple[bytes, bytes]) -> None:
    run_id = make_run(workspace, model=files[0], labels=LABELS)
    paths = export_run(run_id, workspace)
    before = {k: p.read_bytes() for k, p in paths.items()}
    (run_path(run_id, workspace) / "best.keras").write_bytes(b"PK\x03\x04 damaged")
    with pytest.raises(TrainingError, match="cannot be exported"):
        export_run(run_id, workspace)
    assert {k: p.read_bytes() for k, p in paths.items()} == before


def test_bad_runs_are_refused_with_a_typed_error(workspace: Path, files: tuple[bytes, bytes]) -> None:
    with pytest.raises(TrainingError, match="failed"):
        export_run(make_run(workspace, state="failed", model=files[0]), workspace)
    with pytest.raises(TrainingError, match="no best model"):
        export_run(make_run(workspace, model=None), workspace)
    with pytest.raises(TrainingError, match="no last model"):
        export_run(make_run(workspace, model=files[0]), workspace, which="last")
    with pytest.raises(TrainingError, match="which"):
        export_run(make_run(workspace, model=files[0]), workspace, which="newest")
    corrupt = make_run(workspace, model=b"not a keras archive")
    with pytest.raises(TrainingError, match="not a .keras archive"):
        export_run(corrupt, workspace)
    no_labels = make_run(workspace, model=files[0], labels=None)
    with pytest.raises(TrainingError, match="no labels"):
        export_run(no_labels, workspace)
    for rid in (corrupt, no_labels):
        assert not (run_path(rid, workspace) / "export").exists()
